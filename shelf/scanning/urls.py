from django.urls import path

from shelf.scanning import views

app_name = "scanning"

urlpatterns = [
    path("scans/<uuid:scan_id>/", views.scan_report, name="report"),
    path("scans/<uuid:scan_id>/sbom/", views.scan_sbom, name="sbom"),
    path("scans/<uuid:scan_id>/exceptions/", views.exception_new, name="exception_new"),
    path("scan-exceptions/<int:exception_id>/revoke/", views.exception_remove, name="exception_revoke"),
    path("images/<uuid:image_id>/rescan/", views.image_rescan, name="rescan"),
    path("operator/scan-policy/", views.policy_edit, name="policy"),
    path("operator/yara-rules/", views.yara_rules, name="yara_rules"),
    path("operator/yara-rules/<int:rule_set_id>/", views.yara_rule_edit, name="yara_rule_edit"),
    path("operator/yara-rules/<int:rule_set_id>/active/", views.yara_rule_active, name="yara_rule_active"),
]
