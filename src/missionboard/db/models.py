"""Import every domain's models so that the metadata is complete (Alembic, tests)."""

from missionboard import mail as mail_models
from missionboard.accounts import models as accounts_models
from missionboard.benchmarking import models as benchmarking_models
from missionboard.councils import models as councils_models
from missionboard.db.base import Base
from missionboard.deliberation import models as deliberation_models
from missionboard.delivery import models as delivery_models
from missionboard.metrics import models as metrics_models
from missionboard.missions import models as missions_models
from missionboard.panels import models as panels_models
from missionboard.partners import models as partners_models
from missionboard.stocktakes import models as stocktakes_models
from missionboard.trials import adoption_models
from missionboard.trials import models as trials_models
from missionboard.volunteering import models as volunteering_models

__all__ = ["Base", "accounts_models", "adoption_models", "benchmarking_models", "councils_models",
           "deliberation_models", "delivery_models", "mail_models", "metrics_models",
           "missions_models", "panels_models", "partners_models",
           "stocktakes_models", "trials_models", "volunteering_models"]
