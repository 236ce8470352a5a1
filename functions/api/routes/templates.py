"""GET /templates and GET /templates/{name}: the built-in configuration templates."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.api_gateway import Router
from pydantic import BaseModel, ConfigDict

from routes.access import readers
from routes.answers import responses
from seatkeeper.profiles.catalog import ConfigurationTemplate, template, templates

router = Router()


class TemplateList(BaseModel):
    model_config = ConfigDict(defer_build=True)

    items: list[ConfigurationTemplate]


@router.get(
    "/templates",
    summary="Built-in configuration templates",
    tags=["templates"],
    middlewares=[readers],
    responses=responses((200, TemplateList)),
)
def list_templates() -> TemplateList:
    return TemplateList(items=list(templates().values()))


@router.get(
    "/templates/<name>",
    summary="One configuration template",
    tags=["templates"],
    middlewares=[readers],
    responses=responses((200, ConfigurationTemplate), 404),
)
def get_template(name: str) -> ConfigurationTemplate:
    return template(name)
