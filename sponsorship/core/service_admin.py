"""A ModelAdmin whose writes go through the app's services (validated, audited) instead of saving the model.

A subclass names its services: `service_problems(obj, values)` (field → message, run as the form's validation, so a
broken rule is a form error), `service_create(request, values)`, `service_update(request, obj, changes)` and,
where deleting is allowed, `service_delete(request, obj)`. Should a service still refuse at save time (another
admin changed something in between), the admin shows its message instead of an error page.
"""

from django.contrib import admin, messages
from django.http import HttpResponseRedirect

from backend.api.errors import ApplicationError


def _client_ip(request) -> str | None:
    return request.META.get("REMOTE_ADDR")


class ServiceModelAdmin(admin.ModelAdmin):
    _FAILED = "_service_admin_failed"

    # --- for subclasses ---------------------------------------------------------------------------------------
    def service_problems(self, obj, values: dict) -> dict:
        return {}

    def service_create(self, request, values: dict):
        raise NotImplementedError

    def service_update(self, request, obj, changes: dict):
        raise NotImplementedError

    def service_delete(self, request, obj):
        raise NotImplementedError

    def service_kwargs(self, request) -> dict:
        return {"actor": request.user, "ip": _client_ip(request)}

    # --- validation through the service's rules ---------------------------------------------------------------
    def get_form(self, request, obj=None, change=False, **kwargs):
        base = super().get_form(request, obj, change=change, **kwargs)
        model_admin = self

        class ServiceForm(base):
            def clean(self):
                cleaned = super().clean()
                # self.instance still holds the saved values here (the form copies its data in afterwards)
                values = {
                    f.name: getattr(self.instance, f.attname) if f.is_relation else getattr(self.instance, f.name)
                    for f in self.instance._meta.concrete_fields
                }
                values.update(cleaned)
                for field, message in model_admin.service_problems(self.instance if change else None, values).items():
                    if field in self.fields and field in self.cleaned_data:
                        self.add_error(field, str(message))
                    elif field not in self.fields:
                        self.add_error(None, str(message))
                return self.cleaned_data

        return ServiceForm

    # --- writes -------------------------------------------------------------------------------------------------
    def save_model(self, request, obj, form, change):
        try:
            if change:
                changes = {name: form.cleaned_data[name] for name in form.changed_data if name in form.cleaned_data}
                saved = self.service_update(request, obj, changes)
            else:
                saved = self.service_create(request, dict(form.cleaned_data))
        except ApplicationError as exc:
            setattr(request, self._FAILED, True)
            fields = (exc.extra or {}).get("fields") or {}
            detail = "; ".join(f"{name}: {' '.join(map(str, msgs))}" for name, msgs in fields.items())
            self.message_user(request, detail or str(exc.message), messages.ERROR)
            return
        obj.pk = saved.pk
        obj._state.adding = False

    def save_related(self, request, form, formsets, change):
        if not getattr(request, self._FAILED, False):
            super().save_related(request, form, formsets, change)

    def log_addition(self, request, obj, message):
        if not getattr(request, self._FAILED, False):
            return super().log_addition(request, obj, message)

    def log_change(self, request, obj, message):
        if not getattr(request, self._FAILED, False):
            return super().log_change(request, obj, message)

    def response_add(self, request, obj, post_url_continue=None):
        if getattr(request, self._FAILED, False):
            return HttpResponseRedirect(request.path)
        return super().response_add(request, obj, post_url_continue)

    def response_change(self, request, obj):
        if getattr(request, self._FAILED, False):
            return HttpResponseRedirect(request.path)
        return super().response_change(request, obj)

    def delete_model(self, request, obj):
        try:
            self.service_delete(request, obj)
        except ApplicationError as exc:
            setattr(request, self._FAILED, True)
            self.message_user(request, f"{obj}: {exc.message}", messages.ERROR)

    def delete_queryset(self, request, queryset):
        for obj in queryset.order_by("pk"):
            self.delete_model(request, obj)

    def response_delete(self, request, obj_display, obj_id):
        if getattr(request, self._FAILED, False):
            return HttpResponseRedirect(request.path.rsplit("/delete/", 1)[0] + "/change/")
        return super().response_delete(request, obj_display, obj_id)
