"""Candidate plans for one connected part of the type matrix, and the search that improves them.

Every candidate is a set of exact, disjoint blocks (see `planner` for why); they differ only in
how many calls they need:
  * by course: each course type is a block (its learners x its courses);
  * by learner: each learner type is a block;
  * columns moved (`move_columns`): some course types get blocks of their own (all their learners
    x those courses), and learner types are grouped by their leftover course sets. Moving a
    course shared by several learner groups into its own block makes their leftover sets
    shrink and often coincide, merging the groups: the "shared block for the common courses".
    A local search decides which course types to move, judged by the exact chunked cost;
  * rows moved: the same search with learners and courses swapped.
`pack` then joins the partial last chunks of two blocks into one call where the learners allow
(see its docstring).
"""

from __future__ import annotations

import heapq
import random
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from itertools import chain, combinations

from bulk_enroll.plan.limits import PlanLimits, cost_function
from bulk_enroll.plan.matrix import Component, TypeMatrix

TypeBlock = tuple[list[int], list[int]]  # (learner types, course types)
Block = tuple[list[int], list[int]]  # (learner indexes, course indexes), each sorted
Cost = Callable[[int, int], int]

MAX_SWEEPS = 3  # sweeps of the local search; the first also accepts moves that cost nothing
SEARCH_WORK_MIN = 200_000  # cells a search may visit, at least ...
SEARCH_WORK_PER_CELL = 4  # ... or this many times the cells of the part it searches
PAIRWISE_MAX_BLOCKS = 200  # up to this many blocks, `pack` intersects every pair directly
PACK_BUDGET_MIN = 1_000_000  # pairs of blocks counted by `pack` per axis, at least ...
PACK_BUDGET_PER_MEMBER = 4  # ... or this many per membership counted


def by_course(matrix: TypeMatrix, part: Component) -> list[TypeBlock]:
    return [(matrix.col_rows[col], [col]) for col in part.cols]


def by_learner(matrix: TypeMatrix, part: Component) -> list[TypeBlock]:
    return [([row], matrix.row_cols[row]) for row in part.rows]


def type_cost(matrix: TypeMatrix, blocks: list[TypeBlock], cost: Cost) -> int:
    row_w, col_w = matrix.row_weight, matrix.col_weight

    def weight(weights: list[int], types: list[int]) -> int:
        return weights[types[0]] if len(types) == 1 else sum(map(weights.__getitem__, types))

    return sum(cost(weight(row_w, rows), weight(col_w, cols)) for rows, cols in blocks)


def move_columns(
    matrix: TypeMatrix, part: Component, cost: Cost, target: int, *, start_moved: bool = False
) -> list[TypeBlock]:
    """Local search over which course types get blocks of their own (see module docstring).

    Starts from "by learner" (no course type moved) or, with `start_moved`, from "by course"
    (all moved); sweeps the course types, most shared first, and makes each move whose exact
    chunked cost is lower (in the first sweep: not higher, to cross plateaus), stopping at the
    lower bound `target`. Work is capped at O(cells of the type matrix).
    """
    search = _ColumnSearch(matrix, part, cost, start_moved)
    col_rows = matrix.col_rows
    budget = SEARCH_WORK_MIN + SEARCH_WORK_PER_CELL * search.cells
    order = sorted(part.cols, key=lambda col: (-len(col_rows[col]), col))
    for sweep in range(MAX_SWEEPS):
        changed = False
        for col in order:
            budget -= len(col_rows[col])
            if search.total <= target or budget < 0:
                break
            delta = search.evaluate(col)
            if delta < 0 or (delta == 0 and sweep == 0):
                search.apply(col, delta)
                changed = True
        if not changed or search.total <= target or budget < 0:
            break
    return search.blocks()


class _ColumnSearch:
    """State of `move_columns`: which course types are moved, and the learner groups left.

    A learner type's leftover course set is identified by the XOR of random 64-bit tags of its
    courses, so a move costs O(learner types of that course) instead of rebuilding sets. The
    blocks returned are rebuilt from the real sets: a tag collision (odds ~2**-64) could only
    misjudge a move, never make a block inexact.
    """

    def __init__(self, matrix: TypeMatrix, part: Component, cost: Cost, start_moved: bool):
        self.matrix, self.part, self.cost = matrix, part, cost
        row_w, col_w = matrix.row_weight, matrix.col_weight
        rng = random.Random(0x5EED)
        self.tag = {col: rng.getrandbits(64) for col in part.cols}
        self.load = {col: sum(row_w[row] for row in matrix.col_rows[col]) for col in part.cols}
        self.moved: set[int] = set(part.cols) if start_moved else set()
        self.key = [0] * len(matrix.row_cols)  # learner type -> tag of its leftover set
        self.learners: dict[int, int] = defaultdict(int)  # leftover set -> learners in it
        self.width: dict[int, int] = {0: 0}  # leftover set -> courses in it
        self.cells = 0
        for row in part.rows:
            digest, width = 0, 0
            for col in matrix.row_cols[row]:
                self.cells += 1
                if col not in self.moved:
                    digest ^= self.tag[col]
                    width += col_w[col]
            self.key[row] = digest
            self.width[digest] = width
            self.learners[digest] += row_w[row]
        self.total = sum(cost(n, self.width[k]) for k, n in self.learners.items())
        self.total += sum(cost(self.load[col], col_w[col]) for col in self.moved)
        self.unit_weights = all(w == 1 for w in row_w)

    def evaluate(self, col: int) -> int:
        """The change in calls if `col` is moved (or moved back); changes nothing.

        Exact when it is <= 0 (the only moves made); a positive answer may be a lower bound.
        """
        col_w = self.matrix.col_weight[col]
        entering = col not in self.moved
        own = self.cost(self.load[col], col_w)
        delta = own if entering else -own
        change = -col_w if entering else col_w
        col_tag, cost, learners, width = self.tag[col], self.cost, self.learners, self.width
        # Every learner type of `col` leaves a group containing `col` for one without it (or
        # back), so old and new groups never coincide and each is priced once. Leaving can only
        # save calls and joining only add them, so price the leaving first and stop early.
        moves = self._weights_by_key(col)
        for old, moving in moves.items():
            before, old_width = learners[old], width[old]
            delta += cost(before - moving, old_width) - cost(before, old_width)
        if delta > 0:
            return delta
        for old, moving in moves.items():
            new_width, existing = width[old] + change, learners.get(old ^ col_tag, 0)
            delta += cost(existing + moving, new_width) - cost(existing, new_width)
        return delta

    def apply(self, col: int, delta: int) -> None:
        col_w = self.matrix.col_weight[col]
        entering = col not in self.moved
        change = -col_w if entering else col_w
        col_tag, key, learners, width = self.tag[col], self.key, self.learners, self.width
        for old, moving in self._weights_by_key(col).items():
            new = old ^ col_tag
            learners[old] -= moving
            learners[new] += moving
            width[new] = width[old] + change
        for row in self.matrix.col_rows[col]:
            key[row] ^= col_tag
        if entering:
            self.moved.add(col)
        else:
            self.moved.remove(col)
        self.total += delta

    def _weights_by_key(self, col: int) -> dict[int, int]:
        """Learners of `col`, per current group."""
        rows = self.matrix.col_rows[col]
        if self.unit_weights:
            keys = list(map(self.key.__getitem__, rows))
            if len(keys) < 8 and len(set(keys)) == len(keys):
                return dict.fromkeys(keys, 1)
            return Counter(keys)
        counts: Counter[int] = Counter()
        row_w = self.matrix.row_weight
        for row in rows:
            counts[self.key[row]] += row_w[row]
        return counts

    def blocks(self) -> list[TypeBlock]:
        """The plan for the current moves, rebuilt from the real sets."""
        matrix, moved = self.matrix, self.moved
        blocks: list[TypeBlock] = [(matrix.col_rows[col], [col]) for col in sorted(moved)]
        leftover: dict[tuple[int, ...], list[int]] = {}
        for row in self.part.rows:
            rest = tuple(col for col in matrix.row_cols[row] if col not in moved)
            if rest:
                leftover.setdefault(rest, []).append(row)
        blocks.extend((rows, list(rest)) for rest, rows in leftover.items())
        return blocks


def expand(matrix: TypeMatrix, blocks: list[TypeBlock]) -> list[Block]:
    """Type blocks -> blocks of learner and course indexes (sorted)."""
    return [
        (
            _members(matrix.row_members, rows),
            _members(matrix.col_members, cols),
        )
        for rows, cols in blocks
    ]


def _members(members: list[list[int]], types: list[int]) -> list[int]:
    if len(types) == 1:
        return members[types[0]]
    return sorted(chain.from_iterable(members[t] for t in types))


def block_cost(blocks: list[Block], limits: PlanLimits) -> int:
    cost = cost_function(limits)
    return sum(cost(len(learners), len(courses)) for learners, courses in blocks)


def pack(blocks: list[Block], limits: PlanLimits) -> list[Block]:
    """Join partial last chunks of pairs of blocks, first along learners, then along courses.

    A block of n learners (one course chunk wide) is cut into full chunks plus a last chunk of
    r learners. If two blocks (A, B) and (A', B') share at least s = max(r, r') learners and
    B + B' fits in one call, the call (S, B + B') for s of those shared learners removes a chunk
    from each block: one call instead of two. S x B was in the first block and S x B' in the
    second, so the result is still exact and disjoint. Each join saves exactly one call and is
    made only when the exact cost says so. Pairs are chosen by a greedy matching that serves the
    blocks with the fewest partners first. Work is O(sum over members of (blocks containing it)^2),
    capped by a budget proportional to the input so planning stays fast.
    """
    learners_max, courses_max, cap = limits.max_learners, limits.max_courses, limits.pairs_cap
    blocks = _pack_axis(blocks, learners_max, courses_max, cap, cost_function(limits))
    swapped = [(courses, learners) for learners, courses in blocks]
    swapped = _pack_axis(
        swapped, courses_max, learners_max, cap, cost_function(limits, transposed=True)
    )
    return [(learners, courses) for courses, learners in swapped]


def _pack_axis(
    blocks: list[Block], rows_max: int, cols_max: int, pairs_cap: int, cost: Cost
) -> list[Block]:
    last_chunk: dict[int, int] = {}
    for index, (rows, cols) in enumerate(blocks):
        width = len(cols)
        if width > cols_max or width > pairs_cap:
            continue
        per_chunk = min(rows_max, pairs_cap // width)
        last_chunk[index] = len(rows) - (-(-len(rows) // per_chunk) - 1) * per_chunk
    if len(last_chunk) < 2:
        return blocks

    shared = _shared_members(blocks, sorted(last_chunk))
    partners: dict[int, dict[int, int]] = defaultdict(dict)  # i -> {j: size of the joint call}
    for (i, j), common in sorted(shared.items()):
        (rows_i, cols_i), (rows_j, cols_j) = blocks[i], blocks[j]
        size = max(last_chunk[i], last_chunk[j])
        width = len(cols_i) + len(cols_j)
        if common < size or width > cols_max or size > rows_max or size * width > pairs_cap:
            continue
        before = cost(len(rows_i), len(cols_i)) + cost(len(rows_j), len(cols_j))
        after = (
            cost(len(rows_i) - size, len(cols_i))
            + cost(len(rows_j) - size, len(cols_j))
            + cost(size, width)
        )
        if after < before:
            partners[i][j] = partners[j][i] = size
    if not partners:
        return blocks

    result = list(blocks)
    for i, j in _greedy_matching(partners):
        size = partners[i][j]
        (rows_i, cols_i), (rows_j, cols_j) = result[i], result[j]
        joint = sorted(set(rows_i).intersection(rows_j))[:size]
        taken = set(joint)
        result[i] = ([row for row in rows_i if row not in taken], cols_i)
        result[j] = ([row for row in rows_j if row not in taken], cols_j)
        result.append((joint, sorted(cols_i + cols_j)))
    return [block for block in result if block[0]]


def _shared_members(blocks: list[Block], candidates: list[int]) -> Counter[tuple[int, int]]:
    """Members shared by each pair (i < j) of candidate blocks that share any.

    Few blocks: intersect their member sets pairwise (C speed). Many: count through postings
    (member -> blocks), within a budget.
    """
    if len(candidates) <= PAIRWISE_MAX_BLOCKS:
        sets = [set(blocks[i][0]) for i in candidates]
        shared: Counter[tuple[int, int]] = Counter()
        for x, i in enumerate(candidates):
            for y in range(x + 1, len(candidates)):
                common = len(sets[x] & sets[y])
                if common:
                    shared[(i, candidates[y])] = common
        return shared
    postings: dict[int, list[int]] = defaultdict(list)  # member -> candidate blocks, ascending
    for index in candidates:
        for row in blocks[index][0]:
            postings[row].append(index)
    return Counter(chain.from_iterable(map(_pairs_of, _within_budget(postings.values()))))


def _pairs_of(indexes: list[int]) -> Iterator[tuple[int, int]]:
    return combinations(indexes, 2)


def _within_budget(lists: Iterable[list[int]]) -> list[list[int]]:
    """The postings with two or more blocks, dropping the longest ones if counting every pair
    would exceed the budget (a dropped member only hides a possible join, never breaks one)."""
    shared = [p for p in lists if len(p) > 1]
    work = sum(len(p) * (len(p) - 1) // 2 for p in shared)
    budget = max(PACK_BUDGET_MIN, PACK_BUDGET_PER_MEMBER * sum(map(len, shared)))
    if work <= budget:
        return shared
    longest_kept, work = 1, 0
    for length, count in sorted(Counter(map(len, shared)).items()):
        work += count * length * (length - 1) // 2
        if work > budget:
            break
        longest_kept = length
    return [p for p in shared if len(p) <= longest_kept]


def _greedy_matching(partners: dict[int, dict[int, int]]) -> list[tuple[int, int]]:
    """A maximal matching, vertices with the fewest partners first (deterministic)."""
    degree = {node: len(others) for node, others in partners.items()}
    heap = [(deg, node) for node, deg in degree.items()]
    heapq.heapify(heap)
    matched: set[int] = set()
    pairs: list[tuple[int, int]] = []
    while heap:
        deg, node = heapq.heappop(heap)
        if node in matched or deg != degree[node]:
            continue
        free = [other for other in partners[node] if other not in matched]
        if not free:
            continue
        other = min(free, key=lambda o: (degree[o], o))
        matched.update((node, other))
        pairs.append((min(node, other), max(node, other)))
        for gone in (node, other):
            for neighbour in partners[gone]:
                if neighbour not in matched:
                    degree[neighbour] -= 1
                    heapq.heappush(heap, (degree[neighbour], neighbour))
    return pairs
