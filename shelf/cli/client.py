"""A thin HTTP client for the Shelf API that turns the API's error shape into one exception."""

import httpx

from shelf.cli.config import Config


class ApiError(Exception):
    def __init__(self, status: int, errors: list[dict]):
        self.status = status
        self.errors = errors
        super().__init__("; ".join(f"{e.get('field') or '-'}: {e.get('message')}" for e in errors))


class Client:
    def __init__(self, config: Config, timeout: float = 60.0):
        headers = {"Accept": "application/json", "User-Agent": "shelf-cli"}
        if config.token:
            headers["Authorization"] = f"Bearer {config.token}"
        self.http = httpx.Client(base_url=f"{config.url}/api/v1", headers=headers, timeout=timeout)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.http.close()

    def request(self, method: str, path: str, **kwargs) -> httpx.Response:
        response = self.http.request(method, path, **kwargs)
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = None
            errors = body.get("errors") if isinstance(body, dict) else None
            if not isinstance(errors, list) or not all(isinstance(e, dict) for e in errors):
                errors = []
            if not errors:
                errors = [{"field": None, "code": f"http_{response.status_code}", "message": response.text[:200]}]
            raise ApiError(response.status_code, errors)
        return response

    def get(self, path: str, **kwargs):
        return json_of(self.request("GET", path, **kwargs))

    def post(self, path: str, **kwargs):
        return json_of(self.request("POST", path, **kwargs))


def json_of(response: httpx.Response):
    """The response's JSON; anything else means the URL is not a Shelf API (a proxy or login page, say)."""
    try:
        return response.json()
    except ValueError:
        raise ApiError(
            response.status_code,
            [
                {
                    "field": None,
                    "code": "not_json",
                    "message": f"The server at {response.request.url} did not answer with JSON: is SHELF_URL a Shelf server?",
                }
            ],
        ) from None
