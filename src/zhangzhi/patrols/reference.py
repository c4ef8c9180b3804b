"""Default patrol rules as data: validity (有效巡河标准) and frequency duty (巡查频次).

`ensure()` is idempotent; the migration calls it with historical models, the demo and the test
fixtures after a flush. Offices change the rows (a county adds its own, stricter row); code never
hard-wires a threshold.
"""

from django.apps import apps as global_apps

# system, level ("" = every level), overrides of tracks.Rules; the demo defaults of the issue:
# 10 minutes, 1 km, 200 m buffer, 30 % coverage. A city river is 50 km long and a county reach
# 15 km, so a chief at those levels owes a share of it, not the whole.
RULES = [
    ("river", "", {"min_duration_s": 600, "min_length_m": 1000, "buffer_m": 200, "min_coverage": 0.30,
                   "min_within_share": 0.5, "min_interval_s": 3600, "max_speed_kmh": 120}),
    ("river", "county", {"min_coverage": 0.15}),
    ("river", "city", {"min_coverage": 0.05, "min_length_m": 2000}),
    ("river", "province", {"min_coverage": 0.02, "min_length_m": 2000}),
]

# system, level, period, required effective patrols
FREQUENCY = [
    ("river", "village", "week", 1),
    ("river", "township", "dekad", 1),
    ("river", "county", "month", 1),
    ("river", "city", "quarter", 1),
    ("river", "province", "half", 1),
]


def ensure(apps=global_apps) -> None:
    System = apps.get_model("org", "System")
    RuleSet = apps.get_model("patrols", "RuleSet")
    FrequencyRule = apps.get_model("patrols", "FrequencyRule")
    systems = {s.code: s for s in System.objects.all()}
    for code, level, values in RULES:
        if code in systems:
            RuleSet.objects.get_or_create(system=systems[code], region=None, level=level, defaults=values)
    for code, level, period, required in FREQUENCY:
        if code in systems:
            FrequencyRule.objects.get_or_create(system=systems[code], region=None, level=level,
                                                defaults={"period": period, "required": required})
