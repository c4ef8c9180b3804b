from django.contrib import admin

from .models import AbuseFlag, Case, CaseLog, Category


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    """The category tree is data: offices add, rename, reorder and retire categories here."""

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
class CaseAdmin(admin.ModelAdmin):
    """Read-mostly: changes go through the workflow actions; the admin moderates hidden reports."""

    list_display = ("code", "category", "state", "office", "assignee", "reported_at", "hidden", "abuse_flags")
    list_filter = ("state", "source", "hidden", "category")
    search_fields = ("code", "description")
    readonly_fields = [f.name for f in Case._meta.fields if f.name != "hidden"]
    inlines = [LogInline]
    actions = ["restore"]

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user).select_related("category", "office", "assignee")

    @admin.action(description="Show again (moderation passed)")
    def restore(self, request, queryset):
        from . import actions as case_actions

        for case in queryset.filter(hidden=True).select_related("office__region"):
            case_actions.moderate(request.user, case, hidden=False, note="moderation passed")


@admin.register(AbuseFlag)
class AbuseFlagAdmin(admin.ModelAdmin):
    list_display = ("case", "at")
