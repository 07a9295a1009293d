"""The permission layer: who may run which verb on which container/image/host with which flags.

Pure and synchronous: no I/O, no Slack, no Docker.  The Slack flow resolves the
subject (user, user groups, channel) and the target (name, labels, image), asks
:func:`bot.policy.flagguard.capabilities` what a run/create/exec/update command
line asks for, and passes everything to :func:`evaluate`.  Deny by default,
explicit denies beat allows, and any error denies.  The policy format is in README.md ("Permissions").
"""

from bot.policy.evaluate import allowed_verbs, can_see, evaluate, roles_of
from bot.policy.flagguard import GuardedCommand, capabilities, parse_command
from bot.policy.loader import PolicyError, Problem, load_policy, load_policy_text, yaml_with_lines
from bot.policy.model import (
    AccessRequest,
    ApprovalRule,
    Binding,
    Decision,
    DenyRule,
    Policy,
    Role,
    RoleBinding,
    Selector,
    Subject,
    Target,
    Who,
)
from bot.policy.scope import held_target_verbs, hosts_with_roles, refusal_for_any_target, sees_whole_host, visible
from bot.policy.verbs import canonical_verb

__all__ = [
    "AccessRequest",
    "ApprovalRule",
    "Binding",
    "Decision",
    "DenyRule",
    "GuardedCommand",
    "Policy",
    "PolicyError",
    "Problem",
    "Role",
    "RoleBinding",
    "Selector",
    "Subject",
    "Target",
    "Who",
    "allowed_verbs",
    "can_see",
    "canonical_verb",
    "capabilities",
    "evaluate",
    "held_target_verbs",
    "hosts_with_roles",
    "load_policy",
    "load_policy_text",
    "parse_command",
    "refusal_for_any_target",
    "roles_of",
    "sees_whole_host",
    "visible",
    "yaml_with_lines",
]
