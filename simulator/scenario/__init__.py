"""Scenario files: the typed, validated description of one simulated market.

- :mod:`.schema`: the sections, their types, ranges, defaults and cross-field rules;
- :mod:`.keys`: dotted keys over the schema and its named lists (groups, firms);
- :mod:`.loading`: YAML files with line numbers, overrides and error messages.

``Scenario()`` with no arguments is the baseline.
"""

from .keys import key_annotation, key_problem, scenario_keys
from .loading import (
    Problem,
    ScenarioError,
    did_you_mean,
    line_of,
    load_scenario,
    parse_value,
    raise_issues,
    read_yaml_file,
    validate_file,
    validation_problems,
)
from .schema import (
    Adoption,
    Baseline,
    Churn,
    Data,
    Group,
    Intervention,
    Learning,
    Market,
    NetworkSpec,
    Population,
    Reinvestment,
    Report,
    Scenario,
    scenario_json_schema,
)

__all__ = [
    "Adoption", "Baseline", "Churn", "Data", "Group", "Intervention", "Learning", "Market",
    "NetworkSpec", "Population", "Problem", "Reinvestment", "Report", "Scenario", "ScenarioError",
    "did_you_mean", "key_annotation", "key_problem", "line_of", "load_scenario", "parse_value",
    "raise_issues", "read_yaml_file", "scenario_json_schema", "scenario_keys", "validate_file",
    "validation_problems",
]  # fmt: skip
