from django.contrib import admin

from . import models


class SessionInline(admin.TabularInline):
    model = models.Session
    fields = ["number", "title", "scheduled_start", "duration_minutes"]
    extra = 0


@admin.register(models.Meeting)
class MeetingAdmin(admin.ModelAdmin):
    list_display = ["title", "place", "start_date", "attribution", "answer_visibility", "join_code"]
    search_fields = ["title", "place"]
    filter_horizontal = ["delegations"]
    readonly_fields = ["last_seq", "source_name", "created_at", "updated_at"]
    raw_id_fields = ["current_session", "current_question"]
    inlines = [SessionInline]


@admin.register(models.Delegation)
class DelegationAdmin(admin.ModelAdmin):
    list_display = ["country", "code"]
    search_fields = ["country"]


@admin.register(models.Participant)
class ParticipantAdmin(admin.ModelAdmin):
    list_display = ["user", "role", "delegation", "language"]
    list_filter = ["role", "delegation"]
    search_fields = ["user__username", "user__first_name", "user__last_name", "user__email"]
    raw_id_fields = ["user"]


class QuestionInline(admin.TabularInline):
    model = models.Question
    fields = ["position", "text", "status"]
    extra = 0


@admin.register(models.Session)
class SessionAdmin(admin.ModelAdmin):
    list_display = ["__str__", "meeting", "scheduled_start", "duration_minutes"]
    list_filter = ["meeting"]
    inlines = [QuestionInline]


@admin.register(models.Answer)
class AnswerAdmin(admin.ModelAdmin):
    list_display = ["delegation", "question", "kind", "visibility", "starred", "updated_at"]
    list_filter = ["visibility", "starred", "kind", "question__session__meeting"]
    search_fields = ["text"]
    raw_id_fields = ["question", "duplicate_of", "created_by", "updated_by"]


@admin.register(models.Practice)
class PracticeAdmin(admin.ModelAdmin):
    list_display = ["title", "delegation", "session", "visibility", "updated_at"]
    list_filter = ["visibility", "session__meeting"]
    search_fields = ["title", "description"]
    raw_id_fields = ["session", "question", "paragraph", "created_by", "updated_by", "answer", "merged_into"]
    filter_horizontal = ["library_themes"]


admin.site.register(models.Theme)
admin.site.register(models.Poll)
admin.site.register(models.ModerationAction)


@admin.register(models.LibraryTheme)
class LibraryThemeAdmin(admin.ModelAdmin):
    list_display = ["name_en", "name_fr", "slug"]
    search_fields = ["name_en", "name_fr", "slug"]
    prepopulated_fields = {"slug": ["name_en"]}
