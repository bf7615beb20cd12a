"""Metrics: NPS, CSAT, net satisfaction, CES and their statistics, as pure functions of counts.

`scores` turns counts into estimates with intervals, `stats` compares them and applies the
anonymity rules, `distributions` holds the normal and t distributions both rely on.
"""
