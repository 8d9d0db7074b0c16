from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from shelf.notifications.selectors import notifications_for
from shelf.notifications.services import notifications_mark_read


@login_required
def notification_list(request):
    return render(request, "notifications/list.html", {"notifications": notifications_for(user=request.user)})


@login_required
@require_POST
def notification_read_all(request):
    notifications_mark_read(user=request.user)
    return redirect("notifications:list")
