-- Users registered before they were born. Only the rows of the latest build (macro recent_users_only).
-- A warning: the row is kept, the impossibility flagged.

{{ config(severity='warn') }}

with

recent_users as (

    select user_id, date_of_birth, registered_date
    from {{ ref('incoming_users') }}
    where {{ recent_users_only(ref('incoming_users')) }}

),

final as (

    select * from recent_users
    where registered_date < date_of_birth

)

select * from final
