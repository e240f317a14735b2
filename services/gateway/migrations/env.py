from services.common.migrate import run_env
from services.gateway.models import GatewayBase

run_env(GatewayBase.metadata)
