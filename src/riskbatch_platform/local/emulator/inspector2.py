"""Amazon Inspector: the account status enhanced scanning depends on.

Each fix says which kind it is (a defect, a missing rule, a stand-in): see the package's first lines."""

from __future__ import annotations

from typing import Any

from .patching import Patcher, fix


@fix
def inspector_account_status_of_the_caller(patch: Patcher) -> None:
    """Defect. BatchGetAccountStatus takes accountIds as optional (Inspector API reference,
    https://docs.aws.amazon.com/inspector/v2/APIReference/API_BatchGetAccountStatus.html): without
    them AWS answers for the calling account. moto fails without them as soon as an account has a
    status (it tests membership in None), so preflight's check of Inspector's ECR scanning could not
    run locally. The fix answers for the caller's account when none is named."""
    import json

    from moto.inspector2.responses import Inspector2Response

    original = Inspector2Response.batch_get_account_status

    def batch_get_account_status(self: Any) -> str:
        if self._get_param("accountIds") is not None:
            return str(original(self))
        accounts = self.inspector2_backend.batch_get_account_status([self.current_account])
        return json.dumps({"accounts": accounts, "failedAccounts": []})

    patch.set(Inspector2Response, "batch_get_account_status", batch_get_account_status)
