"""Patrol track judging (有效巡河判定) — pure numpy (+ pyproj as a fallback).

A patrol is a GPS track (WGS84 lon/lat + epoch seconds) along a reach (a WGS84
LineString).  :func:`judge` / :func:`judge_many` decide whether it counts as an
effective patrol under a :class:`Rules` set and say why not, in Chinese.

One module per concern, each with its own notes: ``track`` (the value),
``projection`` (the local metric frame), ``index`` (the grid index: distance to
the reach, the hot path), ``coverage``, ``fraud`` (fraud signs and duplicate
signatures), ``codec`` (compact storage) and ``judge`` (rules, metrics, verdicts).
Callers import from this package; the modules are the place to read and change.
"""

from .codec import decode_track, encode_track
from .coverage import coverage_from_chainage
from .fraud import signature_distance_m, track_signature
from .index import ReachIndex, nearest_bruteforce, reach_index
from .judge import REASONS, Metrics, Rules, Verdict, check_interval, judge, judge_many
from .projection import LocalFrame
from .track import Track, make_track

__all__ = [
    "REASONS",
    "LocalFrame",
    "Metrics",
    "ReachIndex",
    "Rules",
    "Track",
    "Verdict",
    "check_interval",
    "coverage_from_chainage",
    "decode_track",
    "encode_track",
    "judge",
    "judge_many",
    "make_track",
    "nearest_bruteforce",
    "reach_index",
    "signature_distance_m",
    "track_signature",
]
