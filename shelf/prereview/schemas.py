from ninja import Schema


class HitOut(Schema):
    field: str
    code: str
    message: str
    quote: str
