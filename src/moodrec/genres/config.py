"""Typed configuration of the genres stage (graph, embeddings, per-track vectors, song map)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from moodrec.domain import SUPER_GENRES
from moodrec.stage_config import StageConfig

#: the seed study's nine super-genres
DEFAULT_SUPER_GENRES: tuple[str, ...] = SUPER_GENRES

GenreSource = Literal["sandbox", "enrich", "hetrec", "spotify_csv", "table"]


class GenresConfig(StageConfig):
    """Genre co-occurrence graph, super-genre placement, embeddings and the song map.

    ``source`` picks the reader: ``sandbox`` (the generated world's truth artists), ``hetrec``
    (HetRec 2011 Last.fm tag assignments, ``path`` = the dataset folder), ``spotify_csv`` (the
    top40nl CSV with an ``Artist_Genres`` column, ``path`` = the file) or ``table`` (a Parquet
    or CSV file with columns ``artist, genre, weight``) or ``enrich`` (the enrich stage's
    ``artist_genres`` and ``track_features`` of the catalogue's tracks; no ``path``).
    """

    source: GenreSource = "sandbox"
    path: Path | None = None
    # Reader filters: an artist's tag counts below this are noise (HetRec: one user's whim).
    min_tag_count: int = Field(default=1, ge=1)
    # Keep at most this many of an artist's genres/tags (highest weight first); 0 = all.
    max_genres_per_artist: int = Field(default=0, ge=0)
    # A genre must be carried by at least this many artists to become a node.
    min_genre_support: int = Field(default=1, ge=1)
    # An edge needs at least this many artists carrying both genres.
    min_edge_support: int = Field(default=1, ge=1)
    # Edge length from a co-occurrence count c >= 1: "inv_log1p" = 1/ln(1+c),
    # "inv_one_plus_log" = 1/(1+ln c). Both are finite and positive for every c >= 1 and
    # shrink as c grows; the seed's 1/ln(c) is infinite at c = 1.
    edge_weight: Literal["inv_log1p", "inv_one_plus_log"] = "inv_one_plus_log"
    # Denoising discount: each length is divided by how much the two genres' co-occurrence
    # neighbourhoods overlap, so a one-off cross-over edge between genres with no common
    # neighbour is lengthened while an edge inside a dense genre family stays short.
    # "weighted_jaccard": sum(min)/sum(max) of the two genres' co-occurrence rows (own support
    # on the diagonal); "jaccard": overlap of the closed neighbour sets; "none": raw lengths.
    edge_discount: Literal["none", "jaccard", "weighted_jaccard"] = "weighted_jaccard"
    super_genres: tuple[str, ...] = DEFAULT_SUPER_GENRES
    # Super-genre placement: "shortest_path" (the seed's nearest super-genre by weighted
    # shortest path) or "label_propagation" (harmonic label propagation from the super-genre
    # nodes with class mass normalisation) on the affinity below.
    super_genre_method: Literal["shortest_path", "label_propagation"] = "label_propagation"
    # Co-occurrence affinity for label propagation: "inv_length" = 1/edge length (the earlier
    # default), "allocation" = shared artists each counting 1/(their genres - 1).
    propagation_affinity: Literal["inv_length", "allocation"] = "allocation"
    # Weight of name-containment links ("swedish death metal" - "death metal" - "metal");
    # 0 = names unused (graph-only placement).
    name_prior_weight: float = Field(default=0.25, ge=0)
    # A super-genre (or alias) that is not a genre of the graph is added as a name-only node
    # linked to the genres whose names contain it (needs name_prior_weight > 0).
    name_only_anchors: bool = True
    # Extra anchor genres per super-genre, e.g. {"hip hop": ["rap"], "electronica":
    # ["electronic", "edm"]} for a source whose tags name a super-genre differently.
    super_genre_aliases: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    # Weight of links between genres whose tracks sound alike (k nearest neighbours of the
    # per-genre mean audio features); used only when the source has tracks; 0 = unused.
    audio_prior_weight: float = Field(default=0.1, ge=0)
    audio_neighbours: int = Field(default=8, ge=1)
    # Affinity and weights selected on sandbox demo seeds 1-10 (benchmarks/results/genres.md):
    # mean match with the planted hierarchy 0.871 (inv_length, graph only, the earlier
    # default), 0.886 (allocation), 0.943 (+ names), 0.956 (+ names + audio, the default);
    # on demo seed 42 0.850, 0.830, 0.882, 0.922; held-out seeds 11-20: default 0.952.
    # Betweenness on graphs above this many nodes is estimated from k sampled sources.
    betweenness_exact_max_nodes: int = Field(default=500, ge=1)
    betweenness_k: int = Field(default=64, ge=1)
    # Genre embedding: classical MDS or UMAP on shortest-path distances, or random walks.
    embedding: Literal["mds", "umap", "node2vec"] = "mds"
    # Dimension of the genre vectors used per track (the 2D/3D map coordinates are separate).
    vector_dim: int = Field(default=16, ge=2)
    umap_neighbors: int = Field(default=15, ge=2)
    walk_length: int = Field(default=40, ge=2)
    walks_per_node: int = Field(default=10, ge=1)
    word2vec_window: int = Field(default=5, ge=1)
    word2vec_epochs: int = Field(default=5, ge=1)
    # Per-track genre vector: the seed's mean of the closest pair of the artist's genres,
    # or the weight-averaged vector of all of them.
    track_vector: Literal["closest_pair", "weighted_mean"] = "closest_pair"
    # Song map: audio features (standardised) + genre vector scaled by genre_weight.
    song_map_method: Literal["umap", "pca"] = "umap"
    song_map_genre_weight: float = Field(default=1.0, ge=0)
    song_map_max_points: int = Field(default=50_000, ge=10)
    # "inline" embeds plotly.js (~4.5 MB, works offline), "cdn" links it.
    plotlyjs: Literal["inline", "cdn"] = "inline"
    seed: int = Field(default=42, ge=0)

    @model_validator(mode="after")
    def _path_for_files(self) -> GenresConfig:
        if self.source not in {"sandbox", "enrich"} and self.path is None:
            raise ValueError(f"path is required when source is {self.source!r}")
        if len(set(self.super_genres)) != len(self.super_genres) or not self.super_genres:
            raise ValueError("super_genres must be a non-empty list without duplicates")
        unknown = sorted(set(self.super_genre_aliases) - set(self.super_genres))
        if unknown:
            raise ValueError(f"super_genre_aliases name unknown super-genres {unknown}")
        return self
