"""Fifty disbursement requests at once against one tranche, over HTTP against gunicorn."""

import threading
from collections import Counter
from decimal import Decimal

from django.db.models import Sum

from funding.models import Disbursement, Tranche
from funding.signals import rescans_paused
from tests.factories import MembershipFactory, TrancheFactory

from .topology import Api

REQUESTS = 50


def test_fifty_concurrent_disbursements_never_exceed_the_tranche(stack):
    with rescans_paused():
        membership = MembershipFactory(user__password="pw")
        tranche = TrancheFactory(funder=membership.organisation, amount=Decimal("100000.00"))
    stack.web(workers=2, threads=8)  # sixteen requests in the application at once
    officer = Api(stack.base_url, membership.user.username, "pw")
    clients = [officer.again() for _ in range(REQUESTS)]
    barrier = threading.Barrier(REQUESTS)
    answers = []

    def pay(client, n):
        barrier.wait(timeout=30)
        response = client.post(
            "disbursements/",
            {
                "tranche": tranche.pk,
                "amount": "3000.00",
                "disbursed_on": "2025-03-01",
                "reference": f"RACE-{n}",
            },
        )
        answers.append((response.status_code, response.json()))

    threads = [threading.Thread(target=pay, args=(c, n)) for n, c in enumerate(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert len(answers) == REQUESTS
    # 33 payments of 3,000 fit in 100,000; the other 17 are refused with the reason.
    assert Counter(code for code, _ in answers) == {201: 33, 400: 17}, answers
    refusals = {tuple(body.get("amount", [])) for code, body in answers if code == 400}
    assert refusals == {("Only 1,000.00 USD of this tranche remains undisbursed.",)}, refusals
    stored = Tranche.objects.get(pk=tranche.pk).disbursed_amount
    paid = Disbursement.objects.filter(tranche=tranche).aggregate(total=Sum("amount"))["total"]
    assert stored == paid == Decimal("99000.00")
    accepted = {body["reference"] for code, body in answers if code == 201}
    assert set(Disbursement.objects.values_list("reference", flat=True)) == accepted
