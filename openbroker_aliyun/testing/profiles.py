"""What a platform says about itself on each OSB call: Cloud Foundry and Kubernetes.

A profile holds the facts one platform user works with (organisation and space, or
namespace and cluster) and turns them into what that platform sends: the
``X-Broker-API-Originating-Identity`` value, the ``context`` object, the deprecated
top-level ``organization_guid``/``space_guid`` of a provision, and the ``app_guid`` /
``bind_resource`` of a bind. The shapes follow Cloud Foundry's Cloud Controller
(``lib/services/service_brokers/v2/client.rb``) and Kubernetes Service Catalog
(``controller_instance.go``, ``controller_binding.go``); see platforms.md §1.2 and §2.
"""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass, field
from typing import Any, Mapping


def _guid() -> str:
    return str(uuid.uuid4())


def encode_identity(platform: str, value: Mapping[str, Any]) -> str:
    """The ``X-Broker-API-Originating-Identity`` header: ``<platform> <base64 JSON>``."""
    payload = base64.b64encode(json.dumps(dict(value), separators=(",", ":")).encode()).decode()
    return f"{platform} {payload}"


@dataclass(frozen=True)
class CloudFoundryProfile:
    """A Cloud Foundry user in one org and space, pushing one app."""

    organization_guid: str = field(default_factory=_guid)
    organization_name: str = "test-org"
    space_guid: str = field(default_factory=_guid)
    space_name: str = "test-space"
    user_id: str = field(default_factory=_guid)
    app_guid: str = field(default_factory=_guid)
    organization_annotations: Mapping[str, str] = field(default_factory=dict)
    space_annotations: Mapping[str, str] = field(default_factory=dict)

    platform = "cloudfoundry"

    def identity(self) -> dict[str, Any]:
        """The originating identity CC sends: only the user's guid."""
        return {"user_id": self.user_id}

    def context(self, *, instance_name: str | None = None) -> dict[str, Any]:
        """CC's ``context_hash``; ``instance_name`` only on provision and update."""
        out: dict[str, Any] = {
            "platform": self.platform,
            "organization_guid": self.organization_guid,
            "space_guid": self.space_guid,
            "organization_name": self.organization_name,
            "space_name": self.space_name,
            "organization_annotations": dict(self.organization_annotations),
            "space_annotations": dict(self.space_annotations),
        }
        if instance_name is not None:
            out["instance_name"] = instance_name
        return out

    def provision_fields(self) -> dict[str, Any]:
        """The deprecated top-level fields CC still sends on provision."""
        return {"organization_guid": self.organization_guid, "space_guid": self.space_guid}

    def bind_fields(self, app_guid: str | None) -> dict[str, Any]:
        """An app binding (``app_guid`` given) or a service key (``bind_resource`` empty)."""
        if app_guid is None:
            return {"bind_resource": {}}
        return {"app_guid": app_guid, "bind_resource": {"app_guid": app_guid, "space_guid": self.space_guid}}


@dataclass(frozen=True)
class KubernetesProfile:
    """A Kubernetes user acting in one namespace of one cluster (Service Catalog style)."""

    namespace: str = "default"
    clusterid: str = field(default_factory=_guid)
    namespace_uid: str = field(default_factory=_guid)
    username: str = "test-user"
    uid: str = field(default_factory=_guid)
    groups: tuple[str, ...] = ("system:authenticated",)
    extra: Mapping[str, list[str]] = field(default_factory=dict)

    platform = "kubernetes"

    @property
    def app_guid(self) -> str:
        """Service Catalog sends the namespace UID where CF sends an app guid."""
        return self.namespace_uid

    def identity(self) -> dict[str, Any]:
        """``user.info`` of the acting user, as the profile defines it."""
        return {
            "username": self.username,
            "uid": self.uid,
            "groups": list(self.groups),
            "extra": dict(self.extra),
        }

    def context(self, *, instance_name: str | None = None) -> dict[str, Any]:
        """The Kubernetes context; ``instance_name`` on provision and update."""
        out: dict[str, Any] = {
            "platform": self.platform,
            "namespace": self.namespace,
            "clusterid": self.clusterid,
        }
        if instance_name is not None:
            out["instance_name"] = instance_name
        return out

    def provision_fields(self) -> dict[str, Any]:
        """Service Catalog fills the deprecated fields with the cluster id and namespace UID."""
        return {"organization_guid": self.clusterid, "space_guid": self.namespace_uid}

    def bind_fields(self, app_guid: str | None) -> dict[str, Any]:
        """Service Catalog binds with the namespace UID as ``app_guid``."""
        if app_guid is None:
            return {"bind_resource": {}}
        return {"app_guid": app_guid, "bind_resource": {"app_guid": app_guid}}


PlatformProfile = CloudFoundryProfile | KubernetesProfile
