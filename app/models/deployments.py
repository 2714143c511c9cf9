"""Deployments, their files, and the process definitions they hold."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, ForeignKey, Index, Integer, LargeBinary, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, new_id, utcnow

# Camunda's tenant id: a deployment, its definitions and everything they run carry it (None: no tenant).
TENANT_ID_LENGTH = 64
_NO_TENANT = text("tenant_id IS NULL")


class Deployment(db.Model):
    __tablename__ = "deployment"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(200))
    tenant_id: Mapped[str | None] = mapped_column(String(TENANT_ID_LENGTH), index=True)
    resources: Mapped[list["DeploymentResource"]] = relationship(back_populates="deployment",
                                                                 cascade="all, delete-orphan")


class DeploymentResource(db.Model):
    """One uploaded file, kept byte for byte."""

    __tablename__ = "deployment_resource"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    deployment_id: Mapped[str] = mapped_column(ForeignKey("deployment.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    deployment: Mapped[Deployment] = relationship(back_populates="resources")


def start_form_of(elements: dict | None) -> dict:
    """A process's start form, from its element metadata: {"form": JSON Schema, "form_key", "camunda_form"},
    each None when absent."""
    start = next((e for e in (elements or {}).values()
                  if e.get("type") == "startEvent" and ("form" in e or "form_key" in e)), {})
    return {"form": start.get("form"), "form_key": start.get("form_key"), "camunda_form": start.get("camunda_form")}


def external_tasks_of(elements: dict | None) -> list[dict]:
    """A process's external tasks, from its element metadata: the workers it needs."""
    return [{"element_id": eid, "name": e.get("name") or eid, "topic": e["external"]["topic"],
             "implementation": e["external"].get("implementation")}
            for eid, e in sorted((elements or {}).items()) if e.get("external")]


class ProcessDefinition(db.Model):
    """One immutable version of one executable process.

    Versions count per key and tenant: the same key deployed for two tenants (or for none) has two
    independent version lines, each unique (the second index covers the line without a tenant, as
    NULLs never collide in a unique index).
    """

    __tablename__ = "process_definition"
    __table_args__ = (
        Index("uq_process_definition_tenant_key_version", "tenant_id", "key", "version", unique=True),
        Index("uq_process_definition_key_version_no_tenant", "key", "version", unique=True,
              sqlite_where=_NO_TENANT, postgresql_where=_NO_TENANT),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    key: Mapped[str] = mapped_column(String(255), index=True)
    version: Mapped[int] = mapped_column(Integer)
    tenant_id: Mapped[str | None] = mapped_column(String(TENANT_ID_LENGTH))
    name: Mapped[str] = mapped_column(String(255))
    dialect: Mapped[str] = mapped_column(String(20))
    content_hash: Mapped[str] = mapped_column(String(64))
    deployment_id: Mapped[str] = mapped_column(ForeignKey("deployment.id"), index=True)
    resource_id: Mapped[str] = mapped_column(ForeignKey("deployment_resource.id"))
    resource_name: Mapped[str] = mapped_column(String(255))
    spec_json: Mapped[str] = mapped_column(Text, deferred=True)
    elements: Mapped[dict] = mapped_column(JSON)
    # Days an ended instance's history is kept (camunda:historyTimeToLive, or set later by an admin);
    # None: the server's default (STAGECOACH_HISTORY_TTL_DAYS) applies.
    history_ttl_days: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    resource: Mapped[DeploymentResource] = relationship(lazy="raise")

    @property
    def start_form(self) -> dict | None:
        """The start event's form as a JSON Schema, or None."""
        return start_form_of(self.elements)["form"]

    @property
    def external_tasks(self) -> list[dict]:
        """The external tasks workers must fetch and complete: {element_id, name, topic, implementation}."""
        return external_tasks_of(self.elements)
