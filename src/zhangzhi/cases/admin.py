from django.contrib import admin

from zhangzhi.org.admin import JurisdictionAdmin, ReferenceDataAdmin

from .models import AbuseFlag, Case, CaseLog, Category


@admin.register(Category)
class CategoryAdmin(ReferenceDataAdmin):
    """The category tree is data: the system administrator adds, renames, reorders and retires
    categories here."""

    list_display = ("code", "name", "parent", "days", "transfer_to", "public", "active", "order")
    list_editable = ("days", "public", "active", "order")
    list_filter = ("active", "public", "parent")


class LogInline(admin.TabularInline):
    model = CaseLog
    extra = 0
    can_delete = False
    fields = ("at", "actor_name", "action", "from_state", "to_state", "note")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Case)
class CaseAdmin(JurisdictionAdmin):
    """Read-mostly: changes go through the workflow actions; the admin moderates hidden reports."""

    list_display = ("code", "category", "state", "office", "assignee", "reported_at", "hidden", "abuse_flags")
    list_filter = ("state", "source", "hidden", "category")
    search_fields = ("code", "description")
    readonly_fields = [f.name for f in Case._meta.fields if f.name != "hidden"]
    inlines = [LogInline]
    actions = ["restore"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("category", "office", "assignee")

    def has_add_permission(self, request):
        return False  # cases are reported through the intake actions

    def save_model(self, request, obj, form, change):
        from . import actions as case_actions

        fresh = Case.objects.editable_by(request.user).get(pk=obj.pk)
        if "hidden" in form.changed_data:
            self._run(request, lambda: case_actions.moderate(request.user, fresh, hidden=obj.hidden,
                                                             note="admin"))

    @admin.action(description="Show again (moderation passed)")
    def restore(self, request, queryset):
        from . import actions as case_actions

        for case in queryset.editable_by(request.user).filter(hidden=True).select_related("office__region"):
            case_actions.moderate(request.user, case, hidden=False, note="moderation passed")


@admin.register(AbuseFlag)
class AbuseFlagAdmin(JurisdictionAdmin):
    list_display = ("case", "at")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
