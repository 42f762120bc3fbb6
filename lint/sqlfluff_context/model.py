"""dbt's `model` context variable, for sqlfluff's jinja templater (see .sqlfluff).

Macros read the node they render for (`model.resource_type`, `model.config`); outside dbt there is
none, so lint renders them as for a plain model with no config.
"""

resource_type = "model"
name = "lint_model"
unique_id = "model.crm_warehouse.lint_model"
config: dict = {"meta": {}}
