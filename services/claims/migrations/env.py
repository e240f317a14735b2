from services.claims.models import ClaimsBase
from services.common.migrate import run_env

run_env(ClaimsBase.metadata)
