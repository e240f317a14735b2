from services.common.migrate import run_env
from services.investment.models import InvestmentBase

run_env(InvestmentBase.metadata)
