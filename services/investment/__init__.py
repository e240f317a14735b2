"""The investment service: the station register, the stations' recorded attributes and indicator facts, the
investment projects with their money, and the plans' targets and priority list measured from them.

service.py entrypoints → handlers.py commands (in unit_of_work.py's transaction, through repository.py) → domain/
pure rules; views/ the reads; records.py the rows as both sides read them; models.py and migrations/ the schema;
priority_rules.py reads priority_rules.yaml; register_loader.py loads the register; figures.py the wall's figures.
"""
