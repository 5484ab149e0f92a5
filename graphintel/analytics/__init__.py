"""Analytics over the canonical tables: referral chains, communities, credit flows, centrality,
the channel network and operator priority.

Plain functions, tables first; results are plain data (pandas frames, numpy arrays, dicts).
:func:`analyze_tables` / :func:`analyze_store` run everything and produce the result tables of
:data:`graphintel.model.RESULT_TABLES`. The score ranks and explains; it never labels anyone
guilty.
"""

from graphintel.analytics.centrality import betweenness, bridging, pagerank
from graphintel.analytics.channels import channel_links, channel_members, channel_neighbours
from graphintel.analytics.communities import (
    CommunityResult,
    detect_communities,
    leiden_labels,
    louvain_labels,
    modularity,
    normalize_labels,
)
from graphintel.analytics.derived import community_flows, derive_tables
from graphintel.analytics.flows import (
    account_credits,
    account_roles,
    flows_between,
    role_flows,
)
from graphintel.analytics.graph import (
    AccountGraph,
    EcosystemGraph,
    IdCodes,
    account_graph,
    account_universe,
    channel_universe,
    ecosystem_graph,
    encode_tables,
    prepare_and_encode,
    prepare_tables,
)
from graphintel.analytics.pipeline import (
    analyze_store,
    analyze_tables,
    cascade_stats,
    credits_over_time,
    flows_by_community,
    flows_by_role,
    largest_cascades,
    referral_chain,
    referral_subtree,
    summary_dict,
    top_earners,
    trace_payments,
)
from graphintel.analytics.priority import COMPONENTS, DEFAULT_WEIGHTS, priority_scores
from graphintel.analytics.referral import referral_forest, referral_summary

__all__ = [
    "COMPONENTS",
    "DEFAULT_WEIGHTS",
    "AccountGraph",
    "CommunityResult",
    "EcosystemGraph",
    "IdCodes",
    "account_credits",
    "account_graph",
    "account_roles",
    "account_universe",
    "analyze_store",
    "analyze_tables",
    "betweenness",
    "bridging",
    "cascade_stats",
    "channel_links",
    "channel_members",
    "channel_neighbours",
    "channel_universe",
    "community_flows",
    "credits_over_time",
    "derive_tables",
    "detect_communities",
    "ecosystem_graph",
    "encode_tables",
    "flows_between",
    "flows_by_community",
    "flows_by_role",
    "largest_cascades",
    "leiden_labels",
    "louvain_labels",
    "modularity",
    "normalize_labels",
    "pagerank",
    "prepare_and_encode",
    "prepare_tables",
    "priority_scores",
    "referral_chain",
    "referral_forest",
    "referral_subtree",
    "referral_summary",
    "role_flows",
    "summary_dict",
    "top_earners",
    "trace_payments",
]
