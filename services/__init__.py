"""YTCS Finance: the services that track money for the grassroots health network (y tế cơ sở)."""
