"""The modules every Stagecoach has."""

_STAGES = ["Qualification", "Negotiation", "Closing", "Closed Won", "Closed Lost"]

BUILTIN_MODULES: list[dict] = [
    {"api_name": "Leads", "label": "Lead", "fields": [
        {"name": "first_name", "label": "First name", "type": "text"},
        {"name": "last_name", "label": "Last name", "type": "text", "required": True},
        {"name": "company", "label": "Company", "type": "text"},
        {"name": "email", "label": "Email", "type": "email"},
        {"name": "phone", "label": "Phone", "type": "phone"},
        {"name": "lead_source", "label": "Lead source", "type": "picklist",
         "values": ["Web", "Employee Referral", "Advertisement", "Partner", "Trade Show", "Other"]},
        {"name": "lead_status", "label": "Lead status", "type": "picklist",
         "values": ["New", "Contacted", "Qualified", "Converted", "Lost"]},
        {"name": "region", "label": "Region", "type": "picklist", "values": ["EU", "NA", "APAC", "LATAM"]},
        {"name": "annual_revenue", "label": "Annual revenue", "type": "currency", "min": 0},
        {"name": "employees", "label": "Employees", "type": "number", "min": 0},
        {"name": "score", "label": "Score", "type": "number"},
        {"name": "converted", "label": "Converted", "type": "boolean"},
    ]},
    {"api_name": "Accounts", "label": "Account", "fields": [
        {"name": "account_name", "label": "Account name", "type": "text", "required": True},
        {"name": "industry", "label": "Industry", "type": "text"},
        {"name": "website", "label": "Website", "type": "text"},
        {"name": "phone", "label": "Phone", "type": "phone"},
    ]},
    {"api_name": "Contacts", "label": "Contact", "fields": [
        {"name": "first_name", "label": "First name", "type": "text"},
        {"name": "last_name", "label": "Last name", "type": "text", "required": True},
        {"name": "email", "label": "Email", "type": "email"},
        {"name": "phone", "label": "Phone", "type": "phone"},
        {"name": "account", "label": "Account", "type": "lookup", "lookup": "Accounts"},
    ]},
    {"api_name": "Deals", "label": "Deal", "fields": [
        {"name": "deal_name", "label": "Deal name", "type": "text", "required": True},
        {"name": "amount", "label": "Amount", "type": "currency", "min": 0},
        {"name": "discount", "label": "Discount", "type": "percent"},
        {"name": "stage", "label": "Stage", "type": "picklist", "values": _STAGES},
        {"name": "closing_date", "label": "Closing date", "type": "date"},
        {"name": "account", "label": "Account", "type": "lookup", "lookup": "Accounts"},
        {"name": "contact", "label": "Contact", "type": "lookup", "lookup": "Contacts"},
        {"name": "approved", "label": "Approved", "type": "boolean"},
    ]},
    {"api_name": "Cases", "label": "Case", "fields": [
        {"name": "subject", "label": "Subject", "type": "text", "required": True},
        {"name": "description", "label": "Description", "type": "long_text"},
        {"name": "status", "label": "Status", "type": "picklist", "values": ["New", "Escalated", "Closed"]},
        {"name": "priority", "label": "Priority", "type": "picklist", "values": ["Low", "Medium", "High"]},
        {"name": "account", "label": "Account", "type": "lookup", "lookup": "Accounts"},
        {"name": "contact", "label": "Contact", "type": "lookup", "lookup": "Contacts"},
    ]},
]
