from django import forms
from django.utils.translation import gettext_lazy as _

from shelf.catalog.rules import POSITION_MAX
from shelf.catalog.selectors import categories_top_level


class AgreementForm(forms.Form):
    title = forms.CharField(label=_("Title"), required=False)
    body = forms.CharField(label=_("Agreement text"), widget=forms.Textarea(attrs={"rows": 14}), required=False)


class TemplateForm(AgreementForm):
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)


class RegionForm(forms.Form):
    code = forms.CharField(label=_("Code"), required=False, help_text=_("For example ap-guangzhou."))
    name_zh = forms.CharField(label=_("Chinese name"), required=False)
    name_en = forms.CharField(label=_("English name"), required=False)
    position = forms.IntegerField(label=_("Position"), min_value=0, max_value=POSITION_MAX, initial=0)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)


class CategoryForm(forms.Form):
    slug = forms.CharField(label=_("Slug"), required=False)
    name_zh = forms.CharField(label=_("Chinese name"), required=False)
    name_en = forms.CharField(label=_("English name"), required=False)
    parent = forms.ModelChoiceField(
        label=_("Parent"),
        queryset=categories_top_level(),
        required=False,
        empty_label=_("(top level)"),
    )
    position = forms.IntegerField(label=_("Position"), min_value=0, max_value=POSITION_MAX, initial=0)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)
