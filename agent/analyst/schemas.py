"""What an analyst produces. The LLM analyst asks for exactly these (JSON schema from pydantic);
the offline analyst fills the same models extractively; notes render them.

Every string here is untrusted data (it came from a paper or a model): renderers escape it.
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class TrackConnection(BaseModel):
    """How one paper bears on one of the researcher's tracks."""

    track_id: str = Field(description="id of the track, exactly as given")
    connection: str = Field(description="one or two sentences: what this paper means for the track")


class PaperSummary(BaseModel):
    """A learn-cycle reading of one paper (from its abstract)."""

    paper_id: str = Field(description="arXiv id, exactly as given")
    headline: str = Field(description="one sentence: what is new in this paper")
    models: list[str] = Field(
        default_factory=list,
        description="the models or systems the paper studies or builds, by name; empty if none",
    )
    method: str = Field(default="", description="one sentence: how the paper gets its results")
    key_findings: list[str] = Field(description="3-6 concrete findings, with numbers where given")
    gap: str = Field(description="what the paper does not do or leaves open; empty if unknown")
    connections: list[TrackConnection] = Field(
        default_factory=list, description="only tracks the paper genuinely bears on"
    )
    tags: list[str] = Field(default_factory=list, description="2-5 short topic tags, no spaces")


class FieldUpdate(BaseModel):
    """A synthesis across this cycle's papers and what earlier cycles found."""

    headline: str = Field(description="one sentence: the pattern across these papers")
    points: list[str] = Field(description="2-5 observations, citing arXiv ids")
    open_question: str = Field(default="", description="the question none of the papers answers")
    next_steps: list[str] = Field(default_factory=list, description="what to read or do next")


class Judgement(BaseModel):
    """The LLM's verdict on whether a candidate deserves a summary for a track."""

    paper_id: str
    track_id: str
    score: int = Field(ge=0, le=10, description="0 irrelevant .. 10 must read")
    reason: str = Field(description="one line: why")


class Judgements(BaseModel):
    items: list[Judgement]


class DeepRead(BaseModel):
    """A full reading of one paper."""

    paper_id: str
    problem: str
    method: str
    key_results: list[str] = Field(description="with the paper's own numbers")
    limitations: list[str]
    connections: list[TrackConnection] = Field(default_factory=list)
    open_questions: list[str] = Field(default_factory=list)
    follow_ups: list[str] = Field(
        default_factory=list, description="papers or directions to look up next"
    )
