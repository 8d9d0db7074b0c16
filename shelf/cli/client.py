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
                errors = response.json().get("errors") or []
            except ValueError:
                errors = []
            if not errors:
                errors = [{"field": None, "code": f"http_{response.status_code}", "message": response.text[:200]}]
            raise ApiError(response.status_code, errors)
        return response

    def get(self, path: str, **kwargs):
        return self.request("GET", path, **kwargs).json()

    def post(self, path: str, **kwargs):
        return self.request("POST", path, **kwargs).json()
