from services.common.migrate import run_env
from services.finance.models import FinanceBase

run_env(FinanceBase.metadata)
