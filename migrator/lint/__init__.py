"""`migrator lint` (SPEC §11): statements that lose data or block production traffic.

model.py is the data every part shares: static rules (rules.py) make findings, --measure
(measure.py) adds what a scratch database really did, impact.py adds table sizes from the
real database's catalog, and output.py writes them as text, json, github or sarif.
"""
