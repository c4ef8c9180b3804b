"""Reference data: the 长制 systems, the roles a post can have, the kinds of managed objects.

Data, not code paths: a new system (田长制, 路长制 …) is a row. `ensure()` is idempotent; the
migrations call it with their historical models, and `load_demo --reset` calls it after a flush.
"""

from django.apps import apps as global_apps

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



# code, name, system, geometry, is_part, order
KINDS = [
    ("river", "河流", "river", "line", False, 10),
    ("reach", "河段", "river", "line", True, 20),
    ("lake", "湖泊", "river", "polygon", False, 30),
    ("reservoir", "水库", "river", "polygon", False, 40),
    ("spring", "泉域", "river", "point", False, 50),
    ("canal", "渠道", "river", "line", False, 60),
    ("forest_parcel", "林地图斑", "forest", "polygon", False, 110),
    ("farmland_parcel", "耕地图斑", "farmland", "polygon", False, 210),
    ("road", "道路", "road", "line", False, 310),
]



def ensure(apps=global_apps, *, kinds: bool = True) -> None:
    System = apps.get_model("org", "System")
    Role = apps.get_model("org", "Role")
    systems = {code: System.objects.get_or_create(code=code, defaults={"name": name})[0] for code, name in SYSTEMS}
    for code, name, kind, system, on_region, order, duties in ROLES:
        Role.objects.get_or_create(code=code, defaults={
            "name": name, "kind": kind, "system": systems[system], "on_region": on_region, "order": order,
            "duties": duties})
    if not kinds:  # org's own migration runs before FeatureKind has its system column
        return
    FeatureKind = apps.get_model("features", "FeatureKind")
    for code, name, system, geometry, is_part, order in KINDS:
        FeatureKind.objects.get_or_create(code=code, defaults={
            "name": name, "system": systems[system], "geometry": geometry, "is_part": is_part, "order": order})


# 三员分立 (separation of the three administrators, 等保 安全管理): the system administrator keeps the
# reference data, the security administrator keeps accounts and their rights, the audit administrator
# reads the audit log. No ordinary account holds two of them (zhangzhi.org.duties). Each is a Group
# with exactly these permissions, reset by `ensure_admin_roles`: (app_label, model, actions), an action
# being add/change/view/delete or a model's own permission codename (it has an underscore).
SYSTEM_ADMIN, SECURITY_ADMIN, AUDIT_ADMIN = "system", "security", "audit"
_EDIT = ("add", "change", "view")
ADMIN_ROLES = {
    SYSTEM_ADMIN: ("系统管理员", [
        ("org", "system", _EDIT), ("org", "role", _EDIT), ("features", "featurekind", _EDIT),
        ("cases", "category", _EDIT), ("patrols", "ruleset", _EDIT), ("patrols", "frequencyrule", _EDIT),
        # the raw HJ 212 archive and frames of unknown stations, with their peers: the platform's operation
        ("monitoring", "quarantine", ("view_quarantinedframe",)),
    ]),
    SECURITY_ADMIN: ("安全管理员", [
        ("auth", "user", _EDIT), ("auth", "group", _EDIT), ("auth", "permission", ("view",)),
        ("axes", "accessattempt", ("view", "delete")),  # deleting a lock-out's attempts unlocks
        ("axes", "accessfailurelog", ("view",)),
        ("org", "apitoken", ("view", "change", "delete")),
        ("otp_totp", "totpdevice", ("view", "delete")),  # a lost phone: remove the device, the user enrols again
    ]),
    AUDIT_ADMIN: ("审计管理员", [
        ("org", "changelog", ("view",)),  # reads and exports (logins too); the log itself refuses any change
    ]),
}


def admin_role_names() -> dict[str, str]:
    """{role code: group name} of the three administrators."""
    return {code: name for code, (name, _perms) in ADMIN_ROLES.items()}


def ensure_admin_roles(apps=global_apps) -> None:
    """The three administrators' groups with exactly their permissions (those that exist yet)."""
    from django.db.models import Q

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, perms in ADMIN_ROLES.values():
        group, _ = Group.objects.get_or_create(name=name)
        q = Q(pk__in=[])
        for app, model, actions in perms:
            q |= Q(content_type__app_label=app, content_type__model=model,
                   codename__in=[a if "_" in a else f"{a}_{model}" for a in actions])
        group.permissions.set(Permission.objects.filter(q).values_list("pk", flat=True))


def ensure_all() -> None:
    """Every app's reference data (after a flush: `load_demo --reset`, transactional tests)."""
    import importlib

    ensure()
    ensure_admin_roles()
    for app in ("cases", "patrols", "monitoring"):
        try:
            module = importlib.import_module(f"zhangzhi.{app}.reference")
        except ModuleNotFoundError as exc:
            if exc.name != f"zhangzhi.{app}.reference":
                raise
            continue
        module.ensure()
