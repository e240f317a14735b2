"""YTCS Finance: the services that track money for the grassroots health network (y tế cơ sở)."""

import warnings

# Eventlet warns on import that it is in maintenance mode; the choice is made and explained in
# docs/architecture.md ("Why nameko 2.14.1"), so each process need not print the same paragraph again.
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
