"""Use cases (the HackSoft Django styleguide's services), one module per resource.

Each public function that writes is one transaction (`transaction.atomic`) that changes rows and
appends the activity entry describing the change, so the two commit or roll back together. The
views have already validated the input (impl_drf.validation) and checked that the caller may see
the object (404) and act on it (403) (impl_drf.permissions), without locks. A service then takes
its locks in the contract's order and checks what needs them: references (422), `If-Match`
(412), conflicts (409) (contract/DECISIONS.md, "Locks"). Reads are impl_drf.selectors."""
