"""The offline analyst: no network, no model. It quotes the paper's own sentences and says so.

Findings are the abstract's result sentences, connections are the ranker's matched terms, a deep
read is the full text's own sentences sorted by section. It never claims to understand.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from agent.analyst import Analyst, Brief, Candidate
from agent.analyst.extract import (
    ADDRESS_RE,
    AIM_RE,
    AVAILABILITY_RE,
    LIMITATION_RE,
    METHOD_RE,
    NUMBER_RE,
    OPEN_RE,
    PROBLEM_RE,
    RESULT_RE,
    STRONG_LIMITATION_RE,
    STRONG_RESULT_RE,
    WE_RE,
    WEAK_LIMITATION_RE,
    WEAK_RESULT_RE,
    contribution_sentence,
    model_names,
    pick,
    slug,
    split_sentences,
    trim,
)
from agent.analyst.schemas import (
    DeepRead,
    FieldUpdate,
    Judgement,
    PaperSummary,
    TrackConnection,
)
from agent.models import FullText, Match, MemoryItem, Track
from agent.sources.ids import find_arxiv_ids
from agent.text import latex_to_text

MAX_FINDINGS = 5
# What summaries said before a note named the offline limits once; kept so views can skip it
# in summaries already stored.
NO_LIMITATION = (
    "The abstract states no limitation; a deep read of the full text would show what it leaves "
    "open."
)

SKIP_SECTIONS = ("reference", "bibliograph", "acknowledg")
RESULT_SECTIONS = (
    "result",
    "experiment",
    "evaluation",
    "benchmark",
    "ablation",
    "analysis",
    "finding",
    "empirical",
)
LIMIT_SECTIONS = ("limitation", "discussion", "conclusion", "future", "broader impact", "threats")
METHOD_SECTIONS = (
    "method",
    "approach",
    "model",
    "architecture",
    "framework",
    "proposed",
    "algorithm",
    "design",
    "technique",
    "our ",
)
PROBLEM_SECTIONS = ("abstract", "introduction", "motivation", "overview")


def quote_terms(terms: Sequence[str]) -> str:
    return ", ".join(f"'{term}'" for term in terms)


def relevant_matches(matches: Sequence[Match], tracks: Sequence[Track]) -> list[Match]:
    """The candidate's relevant matches to given tracks, best first; the top one if none is."""
    known = {t.id for t in tracks}
    usable = sorted((m for m in matches if m.track_id in known), key=lambda m: -m.score)
    return [m for m in usable if m.relevant] or usable[:1]


def connection_for(match: Match, track: Track) -> TrackConnection:
    """An honest connection line: what matched, and how strongly."""
    if match.terms:
        what = f"matches its keywords {quote_terms(match.terms)}"
    else:
        what = "ranked for it by category or similarity, without a keyword match"
    return TrackConnection(
        track_id=track.id, connection=f"Score {match.score:.2f}: {what}."
    )


def section_kind(title: str) -> str:
    """What a section is for, from its title: skip, results, limits, method, problem or other."""
    lowered = f"{title.lower()} "
    for kind, cues in (
        ("skip", SKIP_SECTIONS),
        ("results", RESULT_SECTIONS),
        ("limits", LIMIT_SECTIONS),
        ("method", METHOD_SECTIONS),
        ("problem", PROBLEM_SECTIONS),
    ):
        if any(cue in lowered for cue in cues):
            return kind
    return "other"


def after_headline(sentences: list[str], headline: str) -> list[str]:
    """The sentences after the contribution sentence (before it is usually motivation)."""
    return sentences[sentences.index(headline) + 1 :] if headline in sentences else sentences


def readable(text: str) -> list[str]:
    """An abstract's sentences, as plain text, without those speaking to the reader or a model."""
    return [s for s in split_sentences(latex_to_text(text)) if not ADDRESS_RE.search(s)]


def method_of(sentences: list[str], headline: str) -> str:
    """The first sentence saying how the work is done ("we compare ...", "Using ..."), not a
    result, not the headline; "" when the abstract has none."""
    for sentence in after_headline(sentences, headline) + sentences:
        if sentence == headline or AVAILABILITY_RE.search(sentence):
            continue
        if METHOD_RE.search(sentence) and not STRONG_RESULT_RE.search(sentence):
            return sentence
    return ""


def findings_of(sentences: list[str], headline: str, taken: Sequence[str] = ()) -> list[str]:
    """Up to five result sentences, strong cues (numbers, "outperforms") before weak, in order;
    never the headline, a sentence already `taken`, or one about code availability."""
    skip = [headline, *taken]
    skip += [s for s in sentences if AVAILABILITY_RE.search(s) or AIM_RE.search(s)]
    after = after_headline(sentences, headline)
    strong = pick(after, STRONG_RESULT_RE, MAX_FINDINGS, exclude=skip)
    weak = pick(after, WEAK_RESULT_RE, MAX_FINDINGS, exclude=[*skip, *strong])
    chosen = set((strong + weak)[:MAX_FINDINGS])
    if not chosen:  # results stated before the contribution sentence
        chosen = set(pick(sentences, STRONG_RESULT_RE, MAX_FINDINGS, exclude=skip))
    return [sentence for sentence in sentences if sentence in chosen]


def gap_of(sentences: list[str], headline: str, taken: Sequence[str]) -> str:
    """A limitation the abstract states after its contribution, or "" (the note says once that
    offline gaps come only from what an abstract states)."""
    after = after_headline(sentences, headline)
    skip = [headline, *taken]
    weak = pick(after, WEAK_LIMITATION_RE, 3, exclude=skip)
    own = pick(after, STRONG_LIMITATION_RE, 1, exclude=skip) or [
        s for s in weak if not STRONG_RESULT_RE.search(s)
    ][:1]
    return trim(own[0]) if own else ""


class OfflineAnalyst(Analyst):
    """An Analyst that reads without a model: extractive, local, honest about what it is."""

    name = "offline"
    model: str | None = None
    judges_first = False  # its judgement is the ranker's score: nothing to screen out first

    def __init__(self, workspace: Path | None = None):
        self.workspace = workspace
        # Matches seen in summarize(), so synthesize() can name the top paper of each track.
        self._matches: dict[str, list[Match]] = {}
        self._models: dict[str, list[str]] = {}

    def summarize(self, candidates: Sequence[Candidate], brief: Brief) -> list[PaperSummary]:
        """The abstract's own sentences: contribution, results, limitation; matched terms."""
        return [self.summarize_one(candidate, brief.tracks) for candidate in candidates]

    def summarize_one(self, candidate: Candidate, tracks: Sequence[Track]) -> PaperSummary:
        """Headline, method, findings and gap: each a different sentence of the abstract."""
        paper = candidate.paper
        sentences = readable(paper.abstract)
        headline = contribution_sentence(sentences) or (sentences[0] if sentences else paper.title)
        method = method_of(sentences, headline)
        findings = findings_of(sentences, headline, taken=[method])
        matches = relevant_matches(candidate.matches, tracks)
        self._matches[paper.id] = matches
        by_id = {t.id: t for t in tracks}
        terms = [term for m in matches for term in m.terms]
        tags = list(dict.fromkeys(slug(t) for t in [*terms, *paper.categories[:1]] if slug(t)))
        self._models[paper.id] = model_names(latex_to_text(f"{paper.title}. {paper.abstract}"))
        return PaperSummary(
            paper_id=paper.id,
            headline=trim(latex_to_text(headline)),
            models=self._models[paper.id],
            method=trim(method),
            key_findings=[trim(f) for f in findings],
            gap=gap_of(sentences, headline, [method, *findings]),
            connections=[connection_for(m, by_id[m.track_id]) for m in matches],
            tags=tags[:5],
        )

    def synthesize(self, summaries: Sequence[PaperSummary], brief: Brief) -> FieldUpdate:
        """What the papers share: tracks, matched terms, models, earlier papers on the same track.

        No open question: the offline reader cannot see one, so it does not invent one."""
        memory = brief.memory
        groups = self.group_by_track(summaries, brief.tracks)
        count = f"{len(summaries)} paper{'' if len(summaries) == 1 else 's'}"
        if not groups:
            return FieldUpdate(
                headline=f"{count} this cycle, none matching a track's keywords.",
                points=[],
                next_steps=self.next_steps(groups, memory),
            )
        track, ids = groups[0]
        headline = f"{len(ids)} of {count} this cycle bear on '{track.name}'"
        others = [f"{len(i)} on '{t.name}'" for t, i in groups[1:3]]
        headline += f"; {', '.join(others)}." if others else "."
        points = [self.track_point(t, i, memory) for t, i in groups][:5]
        points += self.shared_models(summaries) + self.bridges(groups)
        return FieldUpdate(
            headline=headline, points=points[:8], next_steps=self.next_steps(groups, memory)
        )

    @staticmethod
    def shared_models(summaries: Sequence[PaperSummary]) -> list[str]:
        """A line per model named by two or more of this cycle's papers."""
        papers: dict[str, list[str]] = {}
        for summary in summaries:
            for name in summary.models:
                papers.setdefault(name, []).append(summary.paper_id)
        return [
            f"{name} is studied in {', '.join(ids)}: results on it can be compared directly."
            for name, ids in papers.items()
            if len(ids) > 1
        ][:3]

    @staticmethod
    def bridges(groups: list[tuple[Track, list[str]]]) -> list[str]:
        """Papers bearing on two or more tracks: where the tracks meet."""
        tracks_of: dict[str, list[str]] = {}
        for track, ids in groups:
            for paper_id in ids:
                tracks_of.setdefault(paper_id, []).append(f"'{track.name}'")
        return [
            f"{paper_id} bears on {' and '.join(names)} at once."
            for paper_id, names in tracks_of.items()
            if len(names) > 1
        ][:3]

    def group_by_track(
        self, summaries: Sequence[PaperSummary], tracks: Sequence[Track]
    ) -> list[tuple[Track, list[str]]]:
        """(track, paper ids best first) for tracks with papers, highest priority first."""
        groups = []
        for track in sorted(tracks, key=lambda t: -t.priority):
            ids = [s.paper_id for s in summaries if track.id in {c.track_id for c in s.connections}]
            if ids:
                ids.sort(key=lambda pid: -self.score_of(pid, track.id))
                groups.append((track, ids))
        return groups

    def score_of(self, paper_id: str, track_id: str) -> float:
        return max(
            (m.score for m in self._matches.get(paper_id, []) if m.track_id == track_id),
            default=0.0,
        )

    def terms_of(self, paper_id: str, track_id: str) -> set[str]:
        matches = self._matches.get(paper_id, [])
        return {t for m in matches if m.track_id == track_id for t in m.terms}

    def track_point(self, track: Track, ids: list[str], memory: Sequence[MemoryItem]) -> str:
        """One line per track: its papers (with the models they name), the terms they share,
        and the earlier papers on it by id and cycle."""
        named = [
            f"{pid} ({', '.join(self._models[pid][:3])})" if self._models.get(pid) else pid
            for pid in ids
        ]
        point = f"'{track.name}' (priority {track.priority}): {', '.join(named)}"
        term_sets = [self.terms_of(pid, track.id) for pid in ids]
        shared = set.intersection(*term_sets) if len(ids) > 1 else set()
        if shared:
            point += f" — all match {quote_terms(sorted(shared))}"
        earlier = [m for m in memory if track.id in m.track_ids and m.paper_id not in ids]
        if earlier:
            point += "; earlier on the same track: " + ", ".join(
                f"{m.paper_id} (cycle {m.cycle})" if m.cycle is not None else m.paper_id
                for m in earlier[:4]
            )
        return point + "."

    def next_steps(
        self, groups: list[tuple[Track, list[str]]], memory: Sequence[MemoryItem]
    ) -> list[str]:
        """Read the top paper of the highest-priority track; compare it with earlier ones."""
        if not groups:
            return ["Review the tracks' keywords: nothing this cycle matched them."]
        track, ids = groups[0]
        top = ids[0]
        steps = [
            f"Read {top} first: it scores highest ({self.score_of(top, track.id):.2f}) on "
            f"'{track.name}', the highest-priority track among this cycle's papers."
        ]
        earlier = [m for m in memory if track.id in m.track_ids and m.paper_id != top]
        if earlier:
            steps.append(
                f"Compare {top} with {earlier[0].paper_id} (cycle {earlier[0].cycle}), "
                "an earlier paper on the same track."
            )
        steps += [f"Skim {ids[0]} for '{t.name}'." for t, ids in groups[1:3]]
        return steps

    def judge(self, candidates: Sequence[Candidate], brief: Brief) -> list[Judgement]:
        """Score = 10 × the best match score; the reason names the matched terms."""
        return [self.judge_one(candidate, brief.tracks) for candidate in candidates]

    @staticmethod
    def judge_one(candidate: Candidate, tracks: Sequence[Track]) -> Judgement:
        by_id = {t.id: t for t in tracks}
        matches = [m for m in candidate.matches if m.track_id in by_id]
        if not matches:
            fallback = max(tracks, key=lambda t: t.priority).id if tracks else ""
            return Judgement(
                paper_id=candidate.paper.id,
                track_id=fallback,
                score=0,
                reason="No keyword of any track matched.",
            )
        best = max(matches, key=lambda m: m.score)
        terms = f"matches {quote_terms(best.terms)}" if best.terms else "no keyword matched"
        return Judgement(
            paper_id=candidate.paper.id,
            track_id=best.track_id,
            score=min(10, max(0, round(10 * best.score))),
            reason=f"{terms} of '{by_id[best.track_id].name}' (score {best.score:.2f}).",
        )

    def deep_read(self, candidate: Candidate, text: FullText, brief: Brief) -> DeepRead:
        """The full text's own sentences, sorted by what their section is for; each sentence
        quoted once, and a part with nothing to quote left empty (the note leaves it out)."""
        by_kind = self.sentences_by_kind(text)
        every = [s for kind, sentences in by_kind.items() if kind != "skip" for s in sentences]
        problem = pick(by_kind["problem"], PROBLEM_RE, 2) or by_kind["problem"][:2] or every[:2]
        method = pick(by_kind["method"], WE_RE, 3, exclude=problem) or [
            s for s in by_kind["method"][:2] if s not in problem
        ]
        if not method:
            method = [s for s in [contribution_sentence(every)] if s and s not in problem]
        said = [*problem, *method]
        results = pick(by_kind["results"], NUMBER_RE, 6, exclude=said) or pick(
            every, RESULT_RE, 5, exclude=said
        )
        said += results
        questions = pick(every, OPEN_RE, 3, exclude=said)  # "future work ..." is asked, not listed
        said += questions
        limits = pick(by_kind["limits"], LIMITATION_RE, 4, exclude=said) or pick(
            every, LIMITATION_RE, 2, exclude=said
        )
        by_id = {t.id: t for t in brief.tracks}
        matches = relevant_matches(candidate.matches, brief.tracks)
        cited = find_arxiv_ids(" ".join(every), exclude=candidate.paper.id)
        return DeepRead(
            paper_id=candidate.paper.id,
            problem=" ".join(trim(s) for s in problem),
            method=" ".join(trim(s) for s in method),
            key_results=[trim(s) for s in results],
            limitations=[trim(s) for s in limits],
            connections=[connection_for(m, by_id[m.track_id]) for m in matches],
            open_questions=[trim(s) for s in questions],
            follow_ups=[f"arXiv:{pid} (cited in the text)" for pid in cited[:5]],
        )

    @staticmethod
    def sentences_by_kind(text: FullText) -> dict[str, list[str]]:
        """Sentences of each section, keyed by the section's kind (from its title)."""
        by_kind: dict[str, list[str]] = {
            k: [] for k in ("skip", "results", "limits", "method", "problem", "other")
        }
        for title, body in text.sections:
            by_kind[section_kind(title)].extend(split_sentences(body))
        return by_kind
