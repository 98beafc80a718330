"""The search box and its filters, as a form: whatever arrives, it either cleans or says what is wrong."""

from django import forms

from chat.models import Folder
from chat.search import Filters
from chat.search_query import clean


class QueryField(forms.CharField):
    """The query as typed (a trailing space matters: it ends the word being typed), minus characters a query
    has no use for; its length is checked by the search, which says so in words."""

    def to_python(self, value):
        return clean(value) if isinstance(value, str) else super().to_python(value)


class SearchForm(forms.Form):
    q = QueryField(required=False, strip=False)
    title_only = forms.BooleanField(label="Titles only", required=False)
    model = forms.CharField(label="Model", required=False, max_length=200)
    folder = forms.ModelChoiceField(label="Folder", queryset=Folder.objects.none(), required=False)
    archived = forms.BooleanField(label="Include archived", required=False)
    date_from = forms.DateField(label="From", required=False)
    date_to = forms.DateField(label="To", required=False)
    # "Load more": a garbled page number is page 1, not an error.
    page = forms.CharField(required=False, max_length=12)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        # Only the person's own folders are valid choices: anyone else's id is "not a valid choice".
        self.fields["folder"].queryset = Folder.objects.filter(owner=user)

    def clean(self):
        data = super().clean()
        low, high = data.get("date_from"), data.get("date_to")
        if low and high and low > high:
            self.add_error("date_to", "The end date is before the start date.")
        return data

    def filters(self) -> Filters:
        data = self.cleaned_data
        return Filters(
            title_only=data["title_only"],
            model=data["model"].strip(),
            folder=data["folder"],
            include_archived=data["archived"],
            date_from=data["date_from"],
            date_to=data["date_to"],
        )

    @property
    def page_number(self) -> int:
        page = self.cleaned_data.get("page", "")
        return max(1, int(page)) if page.isdecimal() else 1
