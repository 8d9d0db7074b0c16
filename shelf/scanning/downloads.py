"""The SBOM download of a finished scan, once a caller has decided the reader may have it (the image's
organisation and operators in the console and API; anyone for the image of a listed product, on the storefront)."""

from django.http import JsonResponse

from shelf.scanning.models import Scan


def sbom_response(scan: Scan) -> JsonResponse:
    response = JsonResponse((scan.stats or {}).get("sbom") or {}, json_dumps_params={"indent": 2})
    response["Content-Disposition"] = f'attachment; filename="sbom-{scan.image_id}.cdx.json"'
    return response
