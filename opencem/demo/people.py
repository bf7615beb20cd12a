"""Names for the demo's invented people. Common given names and surnames, combined at random
with a customer number in every email and handle, so no record describes a real person."""

from __future__ import annotations

FIRST_NAMES = (
    "Olivia", "Amelia", "Isla", "Ava", "Mia", "Ivy", "Lily", "Isabella", "Rosie", "Sophia",
    "Grace", "Freya", "Ella", "Evie", "Poppy", "Charlotte", "Florence", "Aisha", "Zara", "Maya",
    "Emily", "Chloe", "Hannah", "Sarah", "Rachel", "Helen", "Claire", "Karen", "Fiona", "Joanne",
    "Noah", "Oliver", "George", "Arthur", "Muhammad", "Leo", "Harry", "Oscar", "Archie", "Henry",
    "Theo", "Jack", "Charlie", "Freddie", "Alfie", "Thomas", "James", "William", "Daniel", "Ravi",
    "David", "Paul", "Mark", "Andrew", "Richard", "Stephen", "Gareth", "Callum", "Liam", "Kofi",
)
LAST_NAMES = (
    "Smith", "Jones", "Williams", "Taylor", "Brown", "Davies", "Evans", "Wilson", "Thomas",
    "Johnson", "Roberts", "Robinson", "Thompson", "Wright", "Walker", "White", "Edwards",
    "Hughes", "Green", "Hall", "Lewis", "Harris", "Clarke", "Patel", "Jackson", "Wood", "Turner",
    "Martin", "Cooper", "Hill", "Ward", "Morris", "Moore", "Clark", "Lee", "King", "Baker",
    "Harrison", "Morgan", "Allen", "James", "Scott", "Phillips", "Watson", "Davis", "Parker",
    "Price", "Bennett", "Young", "Griffiths", "Mitchell", "Kelly", "Cook", "Carter", "Richardson",
    "Bailey", "Collins", "Bell", "Shaw", "Murphy", "Khan", "Ahmed", "Singh", "Campbell", "Stewart",
    "MacDonald", "Reid", "Murray", "Nowak", "Okoye",
)
# The trade sales representatives who visit business customers.
REPS = ("Hannah Price", "Dev Mistry", "Lucy Fairbairn", "Owen Pritchard", "Marta Silva")
