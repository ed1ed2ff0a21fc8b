"""Building blocks shared by both custom resources.

Every model here serializes to the camelCase JSON of the Kubernetes API and
refuses unknown fields, so a typo in a GitOps repo is an error rather than a
silently ignored setting. The constrained string types carry the ``maxLength``
that the API server needs to estimate the cost of CEL rules.
"""

from __future__ import annotations

import datetime
import enum
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pydantic.alias_generators import to_camel

# NB: these bounds are part of the published schema; raising one is an API
# change, lowering one can make stored objects invalid.
Name = Annotated[
    str,
    StringConstraints(min_length=1, max_length=253, pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"),
]
LabelKey = Annotated[str, StringConstraints(min_length=1, max_length=317)]
LabelValue = Annotated[str, StringConstraints(max_length=63)]
ShortText = Annotated[str, StringConstraints(max_length=256)]
Text = Annotated[str, StringConstraints(max_length=2048)]
PromQL = Annotated[str, StringConstraints(min_length=1, max_length=4096)]
Seconds = Annotated[int, Field(ge=0, le=31_536_000)]
PositiveSeconds = Annotated[int, Field(ge=1, le=31_536_000)]
Percent = Annotated[int, Field(ge=0, le=100)]
# NB: strict, or pydantic would read "yes", "off" or 1 as a boolean that the
# API server rejects; the models must never be more lenient than the CRD.
Flag = Annotated[bool, Field(strict=True)]


class Model(BaseModel):
    """The base of every resource model: camelCase on the wire, strict keys."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        use_enum_values=False,
        validate_default=True,
    )

    def to_wire(self) -> dict[str, Any]:
        """The JSON-ready dict of this model, as Kubernetes stores it."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)

    def to_manifest(self) -> dict[str, Any]:
        """The JSON-ready dict of only the fields that were set, defaults left out.

        This is what a human wrote: a manifest read with ``from_wire`` comes
        back unchanged, which is what GitOps diffs and server-side apply need.
        """
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)

    @classmethod
    def from_wire(cls, data: Any) -> Self:
        """Parse a dict as read from the API server (or a YAML file)."""
        return cls.model_validate(data)


class Severity(enum.StrEnum):
    """How bad an incident is; SEV1 is the worst."""

    SEV1 = "SEV1"
    SEV2 = "SEV2"
    SEV3 = "SEV3"
    SEV4 = "SEV4"

    def raised(self) -> Severity:
        """One level worse, never past SEV1."""
        rank = max(self.rank - 1, 1)
        return Severity(f"SEV{rank}")

    @property
    def rank(self) -> int:
        """1 for SEV1 (the worst) to 4 for SEV4."""
        return int(self.value[3:])

    def is_at_least(self, other: Severity) -> bool:
        """Whether this severity is as bad as ``other`` or worse."""
        return self.rank <= other.rank


class ConditionStatus(enum.StrEnum):
    """The three states of a metav1.Condition."""

    TRUE = "True"
    FALSE = "False"
    UNKNOWN = "Unknown"


class Condition(Model):
    """A metav1.Condition: one aspect of the object's state."""

    type: Annotated[str, StringConstraints(min_length=1, max_length=316)] = Field(
        description="type of the condition in CamelCase, such as Ready or Resolved.",
    )
    status: ConditionStatus = Field(description="status of the condition: True, False, Unknown.")
    observed_generation: Annotated[int, Field(ge=0)] | None = Field(
        default=None,
        description="observedGeneration is the .metadata.generation the condition was set for.",
    )
    last_transition_time: datetime.datetime = Field(
        description="lastTransitionTime is when the status last changed, not when it was last "
        "written.",
    )
    reason: Annotated[str, StringConstraints(min_length=1, max_length=1024)] = Field(
        description="reason is a CamelCase word for the machine-readable cause.",
    )
    message: Annotated[str, StringConstraints(max_length=32768)] = Field(
        default="",
        description="message is a human-readable explanation, saying what to do when something "
        "is wrong.",
    )


class SecretKeyRef(Model):
    """A key of a Secret in the resource's own namespace."""

    name: Name = Field(description="name of the Secret, in the same namespace as the resource.")
    key: Annotated[str, StringConstraints(min_length=1, max_length=253)] = Field(
        description="key within the Secret's data whose value is used.",
    )


class LabelSelectorRequirement(Model):
    """One requirement of a metav1.LabelSelector."""

    key: LabelKey = Field(description="key is the label key the requirement applies to.")
    operator: SelectorOperator = Field(description="operator: In, NotIn, Exists, DoesNotExist.")
    values: Annotated[list[LabelValue], Field(max_length=64)] | None = Field(
        default=None,
        description="values for In and NotIn; must be empty for Exists and DoesNotExist.",
    )


class SelectorOperator(enum.StrEnum):
    """The operators of a label selector requirement."""

    IN = "In"
    NOT_IN = "NotIn"
    EXISTS = "Exists"
    DOES_NOT_EXIST = "DoesNotExist"


def utcnow() -> datetime.datetime:
    """The current time, timezone-aware, at whole seconds as Kubernetes keeps it."""
    return datetime.datetime.now(datetime.UTC).replace(microsecond=0)


LabelSelectorRequirement.model_rebuild()
