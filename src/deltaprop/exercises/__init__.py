"""Exercises in backpropagation, and an autograder that names the common mistakes.

:func:`make_problem` draws a small network with given numbers (exact in binary),
:func:`solve` computes every quantity of one backpropagation step, and, with named
mistakes, what a student who makes them writes down; :func:`write_exercise` writes the
problem and its solution as Markdown and as Jupyter notebooks (nbgrader's and otter-grader's formats);
:func:`grade` checks a student's numbers and :func:`grade_backward` a student's
``backward`` function, naming each mistake of :data:`MISTAKES` that explains them.
"""

from deltaprop._api import publish
from deltaprop.exercises._grade import (
    MISTAKES,
    Mistake,
    Report,
    grade,
    grade_backward,
    load_backward,
    read_answer,
)
from deltaprop.exercises._problem import Problem, Solution, make_problem, solve
from deltaprop.exercises._render import (
    notebook,
    otter_notebook,
    problem_markdown,
    solution_markdown,
    write_exercise,
)

__all__ = [
    "MISTAKES",
    "Mistake",
    "Problem",
    "Report",
    "Solution",
    "grade",
    "grade_backward",
    "load_backward",
    "make_problem",
    "notebook",
    "otter_notebook",
    "problem_markdown",
    "read_answer",
    "solution_markdown",
    "solve",
    "write_exercise",
]

publish(__name__, Mistake, Problem, Report, Solution)
