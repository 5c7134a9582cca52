"""Network files: edge lists and GraphML, read into nodes 0..n-1; errors name the line."""

from __future__ import annotations

import math
import os
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import networkx as nx

from simulator.errors import InputError

GRAPHML_SUFFIXES = (".graphml", ".xml")
EDGE_LIST_FORMAT = "'source target [weight]' (2 or 3 fields separated by spaces or commas)"


def read_network_file(path: str | os.PathLike) -> tuple[int, list[tuple[int, int]]]:
    """Read an edge list or GraphML file; return the node count and edges on 0..n-1.

    Raises
    ------
    InputError
        The file is missing, empty or malformed; the message names the file, the
        line where known and what was expected.
    """
    where = f"network.path: file '{path}'"
    file = Path(path)
    if not file.is_file():
        problem = "is a directory, not a file" if file.is_dir() else "does not exist"
        raise InputError(f"{where} {problem}")
    if file.stat().st_size == 0:
        raise InputError(
            f"{where} is empty; expected an edge list of {EDGE_LIST_FORMAT} or GraphML"
        )
    if file.suffix.lower() in GRAPHML_SUFFIXES:
        labels, edges = _read_graphml(file, where)
    else:
        labels, edges = _read_edge_list(file, where)
    if not labels:
        raise InputError(f"{where} has no nodes; expected lines of {EDGE_LIST_FORMAT} or GraphML")
    numbers = _as_ints(labels)
    if numbers is None:
        order = {label: i for i, label in enumerate(sorted(set(labels)))}
        return len(order), [(order[u], order[v]) for u, v in edges]
    order = {value: i for i, value in enumerate(sorted(set(numbers.values())))}
    return len(order), [(order[numbers[u]], order[numbers[v]]) for u, v in edges]


def _as_ints(labels: list[str]) -> dict[str, int] | None:
    """Map every label to its integer value, or None if any label is not an integer."""
    try:
        return {label: int(label) for label in set(labels)}
    except ValueError:
        return None


def _read_edge_list(file: Path, where: str) -> tuple[list[str], list[tuple[str, str]]]:
    edges = []
    try:
        with file.open(encoding="utf-8") as lines:
            for number, line in enumerate(lines, start=1):
                text = line.split("#", 1)[0].strip()
                if not text:
                    continue
                fields = (
                    [field.strip() for field in text.split(",")] if "," in text else text.split()
                )
                if len(fields) not in (2, 3) or not all(fields) or not _is_weight(fields[2:]):
                    raise InputError(
                        f"{where}, line {number}: expected {EDGE_LIST_FORMAT}, got {text!r}"
                    )
                edges.append((fields[0], fields[1]))
    except UnicodeDecodeError as error:
        raise InputError(
            f"{where} is not UTF-8 text ({error.reason}); expected an edge list or GraphML "
            f"(GraphML files must end in {' or '.join(GRAPHML_SUFFIXES)})"
        ) from None
    return [label for edge in edges for label in edge], edges


def _is_weight(fields: list[str]) -> bool:
    try:
        return all(math.isfinite(float(field)) for field in fields)
    except ValueError:
        return False


def _read_graphml(file: Path, where: str) -> tuple[list[str], list[tuple[str, str]]]:
    try:
        graph = nx.read_graphml(file)
    except ElementTree.ParseError as error:
        line, column = error.position
        problem = str(error).split(":")[0]  # expat's message ends with its own position
        raise InputError(
            f"{where}, line {line}, column {column}: not well-formed XML ({problem}); "
            "expected GraphML"
        ) from None
    except (nx.NetworkXError, ValueError, KeyError) as error:
        raise InputError(f"{where}: not valid GraphML ({error})") from None
    labels = [str(node) for node in graph.nodes()]
    return labels, [(str(u), str(v)) for u, v in graph.edges()]
