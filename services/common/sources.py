"""The funding sources (nguồn kinh phí) that section III of a plan may name: one register for every service.

The codes are the contract's (docs/domain.md §2); the names are how people read a source in a refusal, a page or
a sheet. Finance's allocations and investment's project capital are both drawn from these sources, so both name
them from here, and the gateway's pages and templates too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from services.common import surplus


@dataclass(frozen=True)
class Source:
    code: str
    name: str
    legal_basis: str | None = None


SOURCES: Mapping[str, Source] = MappingProxyType(
    {
        s.code: s
        for s in (
            Source("provincial_budget", "Ngân sách tỉnh"),
            Source("district_budget", "Ngân sách huyện"),
            Source("ntp_nrd", "Chương trình mục tiêu quốc gia xây dựng nông thôn mới", "QĐ 1600/QĐ-TTg (2016–2020)"),
            Source("ntp_health_population", "Chương trình mục tiêu Y tế – Dân số", "QĐ 1125/QĐ-TTg (2016–2020)"),
            Source(surplus.SOURCE, "20% kết dư quỹ khám bệnh, chữa bệnh BHYT", surplus.LEGAL_BASIS),
            Source("bhyt_fund", "Quỹ bảo hiểm y tế"),
            Source("oda_aid", "Tài trợ, viện trợ"),
            Source("socialization", "Xã hội hóa"),
            Source("other", "Nguồn hợp pháp khác"),
        )
    }
)
CODES = frozenset(SOURCES)


def name(code: str) -> str:
    """A source as people read it; a code that is none of ours is shown as it was given."""
    source = SOURCES.get(code)
    return source.name if source is not None else code


def names(codes: Iterable[str]) -> str:
    """Several sources for a sentence, in the register's order."""
    wanted = set(codes)
    return ", ".join(name(c) for c in (*SOURCES, *sorted(wanted - CODES)) if c in wanted)
