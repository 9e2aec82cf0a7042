"""What each stage's report section is called and what question it answers."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SectionSpec:
    """Title and one-line purpose of a stage's section."""

    stage: str
    title: str
    intro: str


SECTION_SPECS: dict[str, SectionSpec] = {
    s.stage: s
    for s in (
        SectionSpec(
            "ingest",
            "Listening log",
            "Events, users, tracks and sessions read from the listening log; rejected lines.",
        ),
        SectionSpec(
            "profile",
            "Dataset profile",
            "How plays spread over users and items, over time and over the user profiles.",
        ),
        SectionSpec(
            "enrich",
            "Enrichment coverage per provider",
            "Which share of tracks each provider linked, with audio features, genres and "
            "lyrics; capabilities the providers did not offer (unavailable, blocked).",
        ),
        SectionSpec(
            "topics",
            "Lyric topics: words and topic map",
            "LDA topics of the cleaned lyrics, their top words and a map of tracks in topic space.",
        ),
        SectionSpec(
            "clusters",
            "Clusters",
            "Tracks clustered by audio features and lyric topics; the model chosen by three "
            "criteria.",
        ),
        SectionSpec(
            "genres",
            "Genre map and song map",
            "The genre co-occurrence graph, its super-genres and embedding, and the song map.",
        ),
        SectionSpec(
            "train",
            "Recommenders: training",
            "The collaborative and hybrid recommenders fitted on the training split.",
        ),
        SectionSpec(
            "evaluate",
            "Model comparison with confidence intervals",
            "Ranking metrics on held-out plays; bootstrap 95 % confidence intervals.",
        ),
        SectionSpec(
            "ablation",
            "Ablation: do audio, genre and lyric features help?",
            "The first research question: CF alone against CF plus each content family, on "
            "warm and cold-start items, with paired tests.",
        ),
        SectionSpec(
            "session",
            "Session recommender and mood timelines",
            "Next-track models inside a listening session, with and without mood signals; "
            "mood timelines of sessions.",
        ),
    )
}


def section_spec(stage: str) -> SectionSpec:
    """The spec of ``stage``; an unknown stage gets a plain title (new stages still show)."""
    return SECTION_SPECS.get(stage, SectionSpec(stage, stage.replace("_", " ").title(), ""))
