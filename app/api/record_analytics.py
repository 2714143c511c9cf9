"""Process analytics of a module: its conversion goal, Path Finder, the funnel and its cohorts."""
from ..schemas.record_analytics import (AnalyticsQuerySchema, ConversionGoalSchema, FunnelSchema, PathFinderQuerySchema,
                                 PathFinderSchema)
from ..services import conversion_goals, funnels, path_finder
from .common import current_actor, problems, protected_blueprint

blp = protected_blueprint("record_analytics", __name__, "/modules", "Record analytics: conversion goal, Path Finder, funnel")


@blp.route("/<module>/conversion-goal", methods=["GET"])
@blp.response(200, ConversionGoalSchema)
@problems(blp, 401, 403, 404)
def get_goal(module):
    """The module's conversion goal (admins and holders of `analytics` on the module)."""
    return conversion_goals.get_goal(module, current_actor())


@blp.route("/<module>/conversion-goal", methods=["PUT"])
@blp.arguments(ConversionGoalSchema)
@blp.response(200, ConversionGoalSchema)
@problems(blp, 400, 401, 403, 404)
def set_goal(body, module):
    """Set the module's conversion goal: a field, the value records convert at, the values that lose them (admin)."""
    return conversion_goals.set_goal(module, body, current_actor())


@blp.route("/<module>/conversion-goal", methods=["DELETE"])
@blp.response(204)
@problems(blp, 401, 403, 404)
def delete_goal(module):
    """Remove the module's conversion goal (admin)."""
    conversion_goals.delete_goal(module, current_actor())


@blp.route("/<module>/path-finder", methods=["GET"])
@blp.arguments(PathFinderQuerySchema, location="query")
@blp.response(200, PathFinderSchema)
@problems(blp, 400, 401, 403, 404, 409, 422)
def find_paths(query, module):
    """The touchpoint graph, the most frequent paths and the drop-offs of the records of a period."""
    return path_finder.path_finder(module, query, current_actor())


@blp.route("/<module>/funnel", methods=["GET"])
@blp.arguments(AnalyticsQuerySchema, location="query")
@blp.response(200, FunnelSchema)
@problems(blp, 400, 401, 403, 404, 409)
def funnel(query, module):
    """Stage to stage conversion by cohort month, and the time to convert (median, p90)."""
    return funnels.funnel(module, query, current_actor())

