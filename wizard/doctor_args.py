"""Parse doctor's workload options into a verify Target (pure functions, no Azure)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .azure import clouds, scopes
from .spec_workloads import GITHUB_ISSUER
from .targets.aks import aks_subject
from .targets.github import GithubCredential

if TYPE_CHECKING:
    import argparse

    from .verify import Target

FEDERATION_HELP = ("aks:CLUSTER_ID:NAMESPACE:SERVICE_ACCOUNT, or github:ORG/REPO:branch:NAME | environment:NAME | "
                   "tag:NAME | pull_request")
GRANT_HELP = "ROLE@SCOPE, e.g. 'AcrPull@/subscriptions/.../registries/acrcontoso'"
IDENTITY_TYPE = "Microsoft.ManagedIdentity/userAssignedIdentities"
CLUSTER_TYPE = "Microsoft.ContainerService/managedClusters"
POOL_TYPE = "Microsoft.Batch/batchAccounts/pools"
CONTAINER_GROUP_TYPE = "Microsoft.ContainerInstance/containerGroups"


class DoctorArgError(ValueError):
    """A doctor option that cannot be understood, with the expected form."""


def parse_federation(text: str, cloud: str = "public") -> dict[str, Any]:
    """One --federation option; its audience is `cloud`'s token-exchange audience (wizard/azure/clouds.py): a
    credential on Azure US Government or China expects its own, not the public cloud's."""
    audience = clouds.cloud(cloud).token_exchange_audience
    kind, _, rest = text.partition(":")
    if kind == "aks":
        cluster_id, _, names = rest.rpartition(":")
        cluster_id, _, namespace = cluster_id.rpartition(":")
        if not _is_id_of(cluster_id, CLUSTER_TYPE) or not namespace or not names:
            raise DoctorArgError(f"--federation {text!r}: expected aks:CLUSTER_ID:NAMESPACE:SERVICE_ACCOUNT, the "
                                 "cluster id being /subscriptions/.../providers/Microsoft.ContainerService/"
                                 "managedClusters/NAME.")
        return {"kind": "aks", "cluster_id": cluster_id, "issuer": "", "subject": aks_subject(namespace, names),
                "audience": audience}
    if kind == "github":
        parts = rest.split(":")
        if len(parts) < 2 or "/" not in parts[0]:
            raise DoctorArgError(f"--federation {text!r}: expected github:ORG/REPO:branch:NAME (or environment:NAME, "
                                 "tag:NAME, pull_request).")
        repo, entity, value = parts[0], parts[1], ":".join(parts[2:])
        if entity == "pull_request":
            credential = GithubCredential(pull_request=True)
        elif entity in ("branch", "environment", "tag") and value:
            credential = GithubCredential(branch=value if entity == "branch" else "",
                                          environment=value if entity == "environment" else "",
                                          tag=value if entity == "tag" else "")
        else:
            raise DoctorArgError(f"--federation {text!r}: after the repository, give branch:NAME, environment:NAME, "
                                 "tag:NAME or pull_request.")
        return {"kind": "github", "issuer": GITHUB_ISSUER, "subject": credential.subject(repo),
                "audience": audience}
    raise DoctorArgError(f"--federation {text!r}: expected {FEDERATION_HELP}.")


def _is_id_of(rid: str, resource_type: str) -> bool:
    try:
        scopes.parse_as(rid, resource_type, resource_type)
    except ValueError:
        return False
    return True


def parse_grant(text: str) -> dict[str, Any]:
    role, sep, scope = text.partition("@")
    # Only the subscription is checked here: the grant's link reads the scope and says what is wrong with it,
    # among the other links, rather than stopping doctor before it checks anything.
    if not sep or not role.strip() or not scope.strip().lower().startswith("/subscriptions/"):
        raise DoctorArgError(f"--grant {text!r}: expected {GRANT_HELP}.")
    return {"role": role.strip(), "scope": scope.strip().rstrip("/"), "note": ""}


def doctor_target(args: argparse.Namespace) -> Target:
    """The Target for `mi-wizard doctor` options; raises DoctorArgError with what to fix."""
    from .verify import Target
    if not _is_id_of(args.identity, IDENTITY_TYPE):
        raise DoctorArgError(f"--identity must be the identity's resource id (/subscriptions/.../resourceGroups/.../"
                             f"providers/{IDENTITY_TYPE}/NAME), not {args.identity!r}.")
    if bool(args.vault) != bool(args.secret):
        raise DoctorArgError("--vault and --secret go together (the secret the workload reads, in that vault).")
    if args.container_group and args.pool:
        raise DoctorArgError("--container-group and --pool: check one target at a time.")
    if args.pool and not _is_id_of(args.pool, POOL_TYPE):
        raise DoctorArgError("--pool must be the pool's resource id (/subscriptions/.../batchAccounts/ACCOUNT/pools/"
                             f"POOL), not {args.pool!r}.")
    if args.container_group and not _is_id_of(args.container_group, CONTAINER_GROUP_TYPE):
        raise DoctorArgError("--container-group must be the group's resource id (/subscriptions/.../resourceGroups/"
                             f".../providers/{CONTAINER_GROUP_TYPE}/NAME), not {args.container_group!r}.")
    cloud = _cloud(args)
    return Target(identity_id=args.identity, vault_name=args.vault, secret_name=args.secret,
                  container_group_id=args.container_group, pool_id=args.pool,
                  federations=[parse_federation(f, cloud) for f in args.federation],
                  grants=[parse_grant(g) for g in args.grant])


def _cloud(args: argparse.Namespace) -> str:
    """The cloud doctor checks: `--cloud` (public without it; the sandbox stands in for any cloud, and `--sandbox
    --cloud usgov` checks a US Government setup rebuilt there)."""
    cloud = getattr(args, "cloud", None) or "public"
    if clouds.cloud_problem(cloud):  # argparse's choices let only known clouds through; said plainly otherwise
        raise DoctorArgError(str(clouds.cloud_problem(cloud)))
    return str(cloud)
