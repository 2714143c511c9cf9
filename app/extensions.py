"""Extension objects, created unbound; `create_app` binds them."""
from flask_migrate import Migrate
from flask_smorest import Api
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass


# Objects stay readable after commit: services return what they wrote.
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
migrate = Migrate()


class StagecoachApi(Api):
    """flask-smorest's Api, with every HTTP error rendered as problem+json."""

    def handle_http_exception(self, error):
        from .errors import http_exception_response

        return http_exception_response(error)


rest_api = StagecoachApi()
# The web console's CSRF protection: checked by the console's own views only (the APIs use bearer tokens).
csrf = CSRFProtect()
