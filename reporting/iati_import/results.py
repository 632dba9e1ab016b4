"""What an IATI import reports: its problems, each with its XPath, its counts, or a refusal."""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Problem:
    xpath: str
    reason: str

    def as_dict(self):
        return {"xpath": self.xpath, "reason": self.reason}


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def as_dict(self):
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged}


@dataclass
class ImportResult:
    errors: list[Problem] = field(default_factory=list)
    projects: Counts = field(default_factory=Counts)
    organisations: Counts = field(default_factory=Counts)
    tranches: Counts = field(default_factory=Counts)
    disbursements: Counts = field(default_factory=Counts)

    @property
    def ok(self):
        return not self.errors

    @property
    def created(self):
        return any(
            counts.created
            for counts in (self.projects, self.organisations, self.tranches, self.disbursements)
        )

    def as_dict(self):
        return {
            "projects": self.projects.as_dict(),
            "organisations": self.organisations.as_dict(),
            "tranches": self.tranches.as_dict(),
            "disbursements": self.disbursements.as_dict(),
            "errors": [problem.as_dict() for problem in self.errors],
        }


class Refused(Exception):
    """The file as a whole cannot be read."""
