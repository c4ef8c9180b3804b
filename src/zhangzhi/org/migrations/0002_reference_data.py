"""Reference data: the 长制 systems and the roles a post can have. Data, so new systems need no code."""

from django.db import migrations

SYSTEMS = [("river", "河湖长制"), ("forest", "林长制"), ("farmland", "田长制"), ("road", "路长制")]

RIVER_DUTIES = ("负责组织领导相应河湖的管理和保护工作，包括水资源保护、水域岸线管理、水污染防治、水环境治理等，"
                "牵头组织对侵占河道、围垦湖泊、超标排污、非法采砂、破坏航道、电毒炸鱼等突出问题依法进行清理整治，"
                "协调解决重大问题；对相关部门和下一级河长履职情况进行督导，对目标任务完成情况进行考核。")

# code, name, kind, system, on_region, order, duties
ROLES = [
    ("general-river-chief", "总河长", "general", "river", True, 10, "负责本行政区域内河湖长制工作的总督导、总调度。"),
    ("deputy-general-river-chief", "副总河长", "deputy_general", "river", True, 20, "协助总河长统筹推进河湖长制工作。"),
    ("river-chief", "河长", "chief", "river", False, 30, RIVER_DUTIES),
    ("deputy-river-chief", "副河长", "deputy", "river", False, 40, "协助河长做好责任河湖的管理保护工作。"),
    ("river-police-chief", "河警长", "police", "river", True, 50,
     "依法打击非法采砂、倾倒垃圾、电毒炸鱼等涉河湖违法犯罪行为。"),
    ("procurator-liaison", "检察长联络人", "procurator", "river", True, 60, "依法开展涉河湖公益诉讼检察工作。"),
    ("civic-river-chief", "民间河长", "civic", "river", False, 70, "巡河护河，发现并反映问题，宣传河湖保护。"),
    ("river-patroller", "巡河员", "patroller", "river", False, 80, "日常巡查责任河段，及时上报问题。"),
    ("general-forest-chief", "总林长", "general", "forest", True, 110, "负责本行政区域内林长制工作的总督导。"),
    ("forest-chief", "林长", "chief", "forest", False, 130, "负责责任区域森林草原资源保护发展。"),
    ("forest-ranger", "护林员", "patroller", "forest", False, 180, "日常巡护林地，报告火情与破坏行为。"),
]


def load(apps, schema_editor):
    System = apps.get_model("org", "System")
    Role = apps.get_model("org", "Role")
    systems = {code: System.objects.get_or_create(code=code, defaults={"name": name})[0] for code, name in SYSTEMS}
    for code, name, kind, system, on_region, order, duties in ROLES:
        Role.objects.get_or_create(code=code, defaults={
            "name": name, "kind": kind, "system": systems[system], "on_region": on_region, "order": order,
            "duties": duties})


class Migration(migrations.Migration):
    dependencies = [("org", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
